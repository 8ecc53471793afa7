"""The ops app: routes warnings into the logs and turns tracing on when it is configured."""

import logging

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "dsta.kernel.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Python warnings become "py.warnings" log records, so stderr stays one JSON record
        # per line (Django itself no longer does this).
        logging.captureWarnings(True)
        # Here rather than in settings: the Django instrumentation needs the app registry, and
        # ready() runs before any handler loads the middleware it inserts.
        from dsta.kernel.observability.tracing import configure_tracing

        configure_tracing()
