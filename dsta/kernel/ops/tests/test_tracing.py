"""Tracing: off by default; on, a request produces spans (in memory and over real OTLP/HTTP)."""

import http.server
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from dsta.kernel.observability.tracing import (
    configure_tracing,
    flush_tracing,
    shutdown_tracing,
    span,
    tracing_enabled,
)

REPO_ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    if tracing_enabled():
        pytest.skip("tracing was configured for this whole test process")
    exporter = InMemorySpanExporter()
    assert configure_tracing(exporter=exporter)
    yield exporter
    shutdown_tracing()


def test_tracing_is_off_without_an_endpoint(settings) -> None:
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = ""

    assert configure_tracing() is False
    assert not tracing_enabled()
    with span("ops.test.off") as current:
        assert not current.is_recording()


def test_a_request_produces_a_server_span(spans: InMemorySpanExporter) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert flush_tracing()

    server_spans = [s for s in spans.get_finished_spans() if s.name == "GET healthz"]
    assert len(server_spans) == 1
    attributes = server_spans[0].attributes or {}
    assert attributes.get("http.response.status_code", attributes.get("http.status_code")) == 200


def test_span_helper_records_nested_spans_with_attributes(spans: InMemorySpanExporter) -> None:
    with span("ops.test.outer", venue="binance"), span("ops.test.inner") as inner:
        assert inner.is_recording()
    flush_tracing()

    finished = {s.name: s for s in spans.get_finished_spans()}
    outer = finished["ops.test.outer"]
    assert outer.attributes == {"venue": "binance"}
    parent = finished["ops.test.inner"].parent
    assert parent is not None
    assert outer.context is not None
    assert parent.span_id == outer.context.span_id


class _Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that keeps what it is sent."""

    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(b"")

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_startup_exports_request_spans_to_the_otlp_endpoint() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Collector.received = []
    script = textwrap.dedent(
        """
        import django
        django.setup()  # the ops app's ready() turns tracing on
        from django.test import Client
        from dsta.kernel.observability.tracing import flush_tracing, tracing_enabled
        assert tracing_enabled()
        assert Client().get("/healthz").status_code == 200
        assert flush_tracing()
        """
    )
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}/",
        "OTEL_SERVICE_NAME": "dsta-test",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    try:
        result = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.shutdown()
        server.server_close()

    assert result.returncode == 0, result.stderr
    paths = {path for path, _ in _Collector.received}
    assert paths == {"/v1/traces"}
    names, services = set(), set()
    for _, body in _Collector.received:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            services |= {
                a.value.string_value
                for a in resource_spans.resource.attributes
                if a.key == "service.name"
            }
            for scope_spans in resource_spans.scope_spans:
                names |= {s.name for s in scope_spans.spans}
    assert "GET healthz" in names
    assert services == {"dsta-test"}
