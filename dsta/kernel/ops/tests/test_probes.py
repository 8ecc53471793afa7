"""/healthz and /readyz against the real database, cache and servers."""

import time
from typing import Any

import pytest
from django.test import Client

from dsta.kernel.ops.tests.servers import (
    AMQP_URL,
    REDIS_URL,
    black_hole,
    closed_port_url,
    require_server,
)


def test_healthz_answers_without_touching_the_database(client: Client) -> None:
    # No django_db mark: pytest-django raises if the view opens a database connection.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-ID"]


def test_healthz_refuses_writes_in_the_error_format(client: Client) -> None:
    response = client.post("/healthz")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.django_db
def test_readyz_checks_each_embedded_dependency(client: Client) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    checks = body["checks"]
    for name in ("database", "cache", "channel_layer"):
        assert checks[name]["status"] == "ok"
        assert checks[name]["latency_ms"] >= 0
    assert checks["broker"] == {"status": "skipped", "detail": "in-process broker"}
    assert checks["bus"] == {"status": "skipped", "detail": "in-process bus"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_reaches_real_redis_and_rabbitmq(client: Client, settings: Any) -> None:
    redis_url = require_server(REDIS_URL)
    amqp_url = require_server(AMQP_URL)
    settings.BROKER_KIND, settings.BROKER_URL = "redis", redis_url
    settings.BUS_KIND, settings.BUS_URL = "rabbitmq", amqp_url
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": "dsta-test-readyz"},
        }
    }

    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert {name: check["status"] for name, check in checks.items()} == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
        "bus": "ok",
        "channel_layer": "ok",
    }


@pytest.mark.django_db
def test_readyz_names_the_unreachable_servers(client: Client, settings: Any) -> None:
    settings.BROKER_KIND, settings.BROKER_URL = "redis", closed_port_url("redis")
    settings.BUS_KIND, settings.BUS_URL = "rabbitmq", closed_port_url("amqp")

    response = client.get("/readyz")

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert error["details"]["failed"] == ["broker", "bus"]
    checks = error["details"]["checks"]
    assert checks["broker"]["status"] == "error"
    assert "Connection" in checks["broker"]["detail"]
    assert checks["bus"]["status"] == "error"
    assert checks["database"]["status"] == "ok"


@pytest.mark.django_db
def test_readyz_never_hangs_on_a_silent_server(client: Client, settings: Any) -> None:
    settings.DSTA_READYZ_TIMEOUT_SECONDS = 0.5
    with black_hole("redis") as silent_redis, black_hole("amqp") as silent_amqp:
        settings.BROKER_KIND, settings.BROKER_URL = "redis", silent_redis
        settings.BUS_KIND, settings.BUS_URL = "rabbitmq", silent_amqp
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert elapsed < 2.0
    checks = response.json()["error"]["details"]["checks"]
    for name in ("broker", "bus"):
        # Whichever gives up first, the thread's deadline or the socket's timeout.
        assert checks[name]["status"] in ("timeout", "error")
        assert checks[name]["latency_ms"] < 2000
