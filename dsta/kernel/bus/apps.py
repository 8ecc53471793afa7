from django.apps import AppConfig


class BusConfig(AppConfig):
    name = "dsta.kernel.bus"
    label = "bus"
    verbose_name = "Event bus"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dsta.kernel.bus.metrics import register_outbox_collector

        register_outbox_collector()
