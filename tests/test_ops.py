"""Project-wide HTTP behaviour: JSON logs with request ids, the one error format on every kind
of endpoint (DRF or plain Django), and the OpenAPI schema and offline docs pages.

Tiny views below stand in for real endpoints; ``@pytest.mark.urls(__name__)`` mounts them
beside the project's own routes (and the project's error handlers).
"""

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from dsta.kernel.observability.logging import RequestIdFilter
from dsta.urls import handler400, handler404, handler500
from dsta.urls import urlpatterns as project_urlpatterns

logger = logging.getLogger("tests.ops")
LOG_MARKER = "ops-test-view-ran"


class EchoView(APIView):
    """A DRF endpoint that parses its body (JSON, form or multipart)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        data: Any = request.data
        return Response({"keys": sorted(data.keys())})


def plain_form_view(request: HttpRequest) -> HttpResponse:
    """A plain Django view that reads its form body."""
    return JsonResponse({"keys": sorted(request.POST.keys())})


def logging_view(request: HttpRequest) -> HttpResponse:
    logger.warning(LOG_MARKER)
    return JsonResponse({"ok": True})


def failing_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug, not bad input")


urlpatterns = [
    path("api/v1/_test/echo", EchoView.as_view()),
    path("_test/plain-form", plain_form_view),
    path("_test/log", logging_view),
    path("_test/fail", failing_view),
    *project_urlpatterns,
]
__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is ``status`` with the one error body carrying ``code``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    error: dict[str, Any] = body["error"]
    return error


# --- structured logs ------------------------------------------------------------------------


@pytest.fixture
def log_lines(settings: Any) -> Iterator[io.StringIO]:
    """What the configured console handler writes, with its own formatter and filter."""
    if settings.LOG_FORMAT != "json":
        pytest.skip("LOG_FORMAT is not json in this environment")
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler)
        and any(isinstance(f, RequestIdFilter) for f in handler.filters)
    ]
    assert handlers, "settings.LOGGING has no console handler with the request id filter"
    buffer = io.StringIO()
    previous = [handler.setStream(buffer) for handler in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        if stream is not None:
            handler.setStream(stream)


def _records(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


@pytest.mark.urls(__name__)
def test_a_request_logs_json_lines_with_its_request_id(
    client: Client, log_lines: io.StringIO
) -> None:
    response = client.get("/_test/log")

    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    records = _records(log_lines)
    line = next(r for r in records if r["message"] == LOG_MARKER)
    assert line["request_id"] == request_id
    assert line["level"] == "WARNING"
    assert line["logger"] == "tests.ops"


@pytest.mark.urls(__name__)
def test_django_request_log_carries_the_callers_request_id(
    client: Client, log_lines: io.StringIO
) -> None:
    # Django logs 4xx after the middleware stack has returned; the id must survive that.
    response = client.get("/api/v1/nothing-here/", headers={"X-Request-ID": "trace-abc.123"})

    assert response["X-Request-ID"] == "trace-abc.123"
    line = next(r for r in _records(log_lines) if r["logger"] == "django.request")
    assert line["request_id"] == "trace-abc.123"
    assert line["status_code"] == 404


# --- one error format -----------------------------------------------------------------------


@pytest.mark.urls(__name__)
def test_unknown_api_path_is_a_json_404(client: Client) -> None:
    error = assert_error(client.get("/api/v1/no/such/thing/"), 404, "not_found")
    assert "/api/v1/no/such/thing/" in error["message"]


@pytest.mark.urls(__name__)
def test_malformed_json_to_a_drf_endpoint_is_400(client: Client) -> None:
    response = client.post(
        "/api/v1/_test/echo", data='{"side": "buy",', content_type="application/json"
    )

    assert_error(response, 400, "malformed_request")


@pytest.mark.urls(__name__)
def test_well_formed_json_reaches_the_drf_endpoint(client: Client) -> None:
    response = client.post(
        "/api/v1/_test/echo", data={"side": "buy"}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json() == {"keys": ["side"]}


@pytest.mark.urls(__name__)
def test_oversize_json_to_a_drf_endpoint_is_413(client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"note": "x" * 2048})

    response = client.post("/api/v1/_test/echo", data=body, content_type="application/json")

    error = assert_error(response, 413, "payload_too_large")
    assert error["details"] == {"limit_bytes": 1024}


@pytest.mark.urls(__name__)
def test_oversize_multipart_fields_to_a_drf_endpoint_are_413(client: Client, settings: Any) -> None:
    # Multipart bodies pass the middleware (file data does not count); Django's parser raises
    # RequestDataTooBig inside DRF, and the kernel's DRF exception handler renders it.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = client.post("/api/v1/_test/echo", data={"note": "x" * 2048})

    assert_error(response, 413, "payload_too_large")


@pytest.mark.urls(__name__)
def test_oversize_form_to_a_plain_django_view_is_413(client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    multipart = client.post("/_test/plain-form", data={"note": "x" * 2048})
    urlencoded = client.post(
        "/_test/plain-form",
        data="note=" + "x" * 2048,
        content_type="application/x-www-form-urlencoded",
    )

    assert_error(multipart, 413, "payload_too_large")
    assert_error(urlencoded, 413, "payload_too_large")


@pytest.mark.urls(__name__)
def test_oversize_form_read_by_csrf_middleware_is_413(settings: Any) -> None:
    # CSRF checking reads request.POST before any view runs: handler400 renders that case.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "a" * 32

    response = client.post("/_test/plain-form", data={"note": "x" * 2048})

    assert_error(response, 413, "payload_too_large")


@pytest.mark.urls(__name__)
def test_small_form_reaches_the_plain_view(client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = client.post("/_test/plain-form", data={"note": "small"})

    assert response.status_code == 200
    assert response.json() == {"keys": ["note"]}


@pytest.mark.urls(__name__)
def test_unreadable_content_length_is_400(client: Client) -> None:
    response = client.post(
        "/api/v1/_test/echo", data="{}", content_type="application/json", CONTENT_LENGTH="ten"
    )

    assert_error(response, 400, "malformed_request")


@pytest.mark.urls(__name__)
def test_an_unhandled_error_is_a_json_500() -> None:
    client = Client(raise_request_exception=False)

    error = assert_error(client.get("/_test/fail"), 500, "internal_error")
    assert "a bug" not in error["message"]


# --- OpenAPI schema and docs ---------------------------------------------------------------


@pytest.mark.django_db
def test_openapi_schema_generates_without_warnings(tmp_path: Any) -> None:
    target = tmp_path / "openapi.yaml"

    # --fail-on-warn turns every drf-spectacular warning or error into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    assert target.read_text().startswith("openapi: 3.")


def test_schema_needs_an_identity(client: Client) -> None:
    response = client.get("/api/v1/schema/", headers={"Accept": "application/json"})

    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] in ("unauthenticated", "forbidden")


@pytest.fixture
def signed_in(admin_user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=admin_user)
    return client


@pytest.mark.django_db
def test_schema_is_served_to_a_signed_in_user(signed_in: APIClient) -> None:
    response = signed_in.get("/api/v1/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["info"]["title"] == "DSTA API"
    assert schema["openapi"].startswith("3.")


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_load_nothing_from_outside(signed_in: APIClient, page: str) -> None:
    response = signed_in.get(page)

    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/v1/schema/" in html
    # No CDN, no web fonts: every URL on the page is on this server.
    assert not re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", html)
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
    assert assets, "the page references no bundled assets"
    for asset in assets:
        assert finders.find(asset), f"{asset} is not a static file of an installed app"
