"""OpenTelemetry tracing: off unless an OTLP endpoint is configured.

``opentelemetry-api`` is a core dependency, so kernel code can always write
``with span("bus.relay.batch"):``; without a configured SDK the API hands out non-recording
spans and the block costs next to nothing. :func:`configure_tracing` (called once from the ops
app's ``ready``) installs the SDK's TracerProvider with an OTLP/HTTP exporter and instruments
Django, but only when ``settings.OTEL_EXPORTER_OTLP_ENDPOINT`` is set and the optional
packages of the ``otel`` extra are installed.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.conf import settings
from opentelemetry import trace

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger(__name__)

_TRACER_NAME = "dsta"
_lock = threading.Lock()
_provider: "TracerProvider | None" = None


def configure_tracing(*, exporter: "SpanExporter | None" = None) -> bool:
    """Turn tracing on when configured; returns whether tracing is on.

    Without ``exporter``, an OTLP/HTTP exporter to ``settings.OTEL_EXPORTER_OTLP_ENDPOINT`` is
    used, and nothing happens when that setting is empty. Passing ``exporter`` (an in-memory one
    in tests, say) turns tracing on with it regardless of the setting. Calling it again while
    tracing is on changes nothing: one provider per process.
    """
    global _provider
    endpoint: str = getattr(settings, "OTEL_EXPORTER_OTLP_ENDPOINT", "")
    if exporter is None and not endpoint:
        return False
    with _lock:
        if _provider is not None:
            return True
        try:
            from opentelemetry.instrumentation.django import DjangoInstrumentor
            from opentelemetry.sdk.resources import SERVICE_NAME, Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            logger.warning(
                "OTEL_EXPORTER_OTLP_ENDPOINT is set but the tracing packages are missing; "
                "install the 'otel' extra. Tracing stays off."
            )
            return False
        if exporter is None:
            exporter = _otlp_exporter(endpoint)
            if exporter is None:
                return False
        service_name = getattr(settings, "OTEL_SERVICE_NAME", "dsta")
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
        provider.add_span_processor(BatchSpanProcessor(exporter))
        # The global provider can be set once per process; instrumentations and span() below
        # get this provider explicitly, so a later configure after shutdown still works.
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            trace.set_tracer_provider(provider)
        DjangoInstrumentor().instrument(tracer_provider=provider)
        _provider = provider
    logger.info("tracing on", extra={"otel_service_name": service_name})
    return True


def _otlp_exporter(endpoint: str) -> "SpanExporter | None":
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        logger.warning("opentelemetry-exporter-otlp-proto-http is missing; tracing stays off.")
        return None
    # The env var names the collector's base URL; the HTTP exporter wants the traces path.
    return OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")


def tracing_enabled() -> bool:
    """Whether :func:`configure_tracing` turned tracing on in this process."""
    return _provider is not None


def flush_tracing(timeout_millis: int = 5000) -> bool:
    """Export the spans still buffered (call before a short-lived process exits)."""
    provider = _provider
    return True if provider is None else provider.force_flush(timeout_millis)


def shutdown_tracing() -> None:
    """Flush and stop exporting, and take the Django instrumentation out again."""
    global _provider
    with _lock:
        provider, _provider = _provider, None
        if provider is None:
            return
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().uninstrument()
        provider.shutdown()


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[trace.Span]:
    """A span around a block of kernel or domain work; a no-op while tracing is off.

    ``attributes`` become span attributes (str, bool, int, float or sequences of them).
    """
    provider = _provider
    tracer = provider.get_tracer(_TRACER_NAME) if provider else trace.get_tracer(_TRACER_NAME)
    with tracer.start_as_current_span(name, attributes=attributes or None) as current:
        yield current
