"""The ops app: turns tracing on at startup when it is configured."""

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "dsta.kernel.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Here rather than in settings: the Django instrumentation needs the app registry, and
        # ready() runs before any handler loads the middleware it inserts.
        from dsta.kernel.observability.tracing import configure_tracing

        configure_tracing()
