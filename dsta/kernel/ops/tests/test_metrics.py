"""/metrics: the default Prometheus registry, behind the service token."""

import uuid
from collections.abc import Iterator
from typing import Any

import prometheus_client
import pytest
from django.test import Client

TOKEN = "s3rvice-token-for-tests"


@pytest.fixture
def probe_counter() -> Iterator[prometheus_client.Counter]:
    """A counter registered in the default registry, as any module of the process would."""
    counter = prometheus_client.Counter(
        f"dsta_test_{uuid.uuid4().hex}", "a counter only this test defines"
    )
    counter.inc(3)
    yield counter
    prometheus_client.REGISTRY.unregister(counter)


def test_metrics_does_not_exist_without_a_service_token(client: Client, settings: Any) -> None:
    settings.DSTA_SERVICE_TOKEN = ""

    response = client.get("/metrics", headers={"Authorization": "Bearer anything"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"],
)
def test_metrics_refuses_a_missing_or_wrong_token(
    client: Client, settings: Any, authorization: str | None
) -> None:
    settings.DSTA_SERVICE_TOKEN = TOKEN
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"dsta_test_" not in response.content


def test_metrics_exports_the_default_registry(
    client: Client, settings: Any, probe_counter: prometheus_client.Counter
) -> None:
    settings.DSTA_SERVICE_TOKEN = TOKEN
    client.get("/healthz")

    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert f"{probe_counter._name}_total 3.0" in text
    # django-prometheus' own request metrics, from its middleware.
    assert "django_http_requests_total_by_view_transport_method_total" in text
