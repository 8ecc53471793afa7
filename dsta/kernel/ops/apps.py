"""The ops app: routes warnings into the logs and turns tracing on when it is configured."""

import logging
import warnings

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "dsta.kernel.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Python warnings become "py.warnings" log records, so stderr stays one JSON record
        # per line (Django itself no longer does this).
        logging.captureWarnings(True)
        # whitenoise hands Django synchronous file iterators; under ASGI Django buffers them
        # and warns on every static file. Expected for the few assets we serve: not news.
        warnings.filterwarnings(
            "ignore",
            message="StreamingHttpResponse must consume synchronous iterators",
            module="django.core.handlers.asgi",
        )
        # Here rather than in settings: the Django instrumentation needs the app registry, and
        # ready() runs before any handler loads the middleware it inserts.
        from dsta.kernel.observability.tracing import configure_tracing

        configure_tracing()
