from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "domains.exchange"
    label = "exchange"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the in-process exchange gateway with the rpc registry."""
        from domains.exchange.api import ExchangeApi
        from domains.exchange.services.gateway import ExchangeGateway
        from dsta.kernel import rpc

        rpc.register(ExchangeApi, ExchangeGateway())
