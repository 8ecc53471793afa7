"""Readiness checks: can this process reach what it needs to serve requests?

Each check runs in its own daemon thread and is given up on after a timeout, so a dead or
black-holed server makes readiness fail fast instead of hanging the probe. The connection-level
timeouts below are set to the same budget so the abandoned threads end soon after.
"""

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pika
import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import BaseCache, caches
from django.db import connections

CheckStatus = Literal["ok", "error", "timeout", "skipped"]
# A check gets the timeout in seconds and raises when the dependency is not usable.
Probe = Callable[[float], None]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one readiness check."""

    status: CheckStatus
    latency_ms: float | None = None
    detail: str | None = None

    @property
    def healthy(self) -> bool:
        return self.status in ("ok", "skipped")

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"status": self.status}
        if self.latency_ms is not None:
            body["latency_ms"] = self.latency_ms
        if self.detail:
            body["detail"] = self.detail
        return body


def check_database(timeout: float) -> None:
    """``SELECT 1`` on the default database, on a connection of its own (closed after)."""
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


def cache_probe(cache: BaseCache) -> Probe:
    """A set/get round trip of a unique key on ``cache``."""

    def check_cache(timeout: float) -> None:
        key = f"ops:readyz:{uuid.uuid4().hex}"
        token = uuid.uuid4().hex
        cache.set(key, token, timeout=max(1, int(timeout) + 1))
        try:
            if cache.get(key) != token:
                raise RuntimeError("value read back differs from the value written")
        finally:
            cache.delete(key)

    return check_cache


def server_probe(url: str) -> Probe:
    """A connection to the Redis (``redis://``) or RabbitMQ (``amqp://``) server at ``url``."""

    def check_server(timeout: float) -> None:
        if url.startswith(("redis://", "rediss://", "unix://")):
            client = redis.Redis.from_url(
                url, socket_connect_timeout=timeout, socket_timeout=timeout
            )
            try:
                client.ping()
            finally:
                client.close()
            return
        params = pika.URLParameters(url)
        params.socket_timeout = timeout
        params.stack_timeout = timeout
        params.blocked_connection_timeout = timeout
        params.connection_attempts = 1
        pika.BlockingConnection(params).close()

    return check_server


def check_channel_layer(timeout: float) -> None:
    """A message sent to a unique channel of the default channel layer comes back."""
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")

    async def round_trip() -> None:
        channel = f"ops.readyz.{uuid.uuid4().hex}"
        await layer.send(channel, {"type": "ops.readyz"})
        message = await asyncio.wait_for(layer.receive(channel), timeout)
        if message.get("type") != "ops.readyz":
            raise RuntimeError("unexpected message on the readiness channel")

    asyncio.run(round_trip())


def configured_probes() -> dict[str, Probe | str]:
    """The checks this deployment needs: name -> probe, or name -> why it is skipped."""
    probes: dict[str, Probe | str] = {
        "database": check_database,
        # Taken here, in the request's context, so the check reuses its client.
        "cache": cache_probe(caches["default"]),
    }
    if settings.BROKER_KIND == "inprocess":
        probes["broker"] = "in-process broker"
    else:
        probes["broker"] = server_probe(settings.BROKER_URL)
    if settings.BUS_KIND == "inprocess":
        probes["bus"] = "in-process bus"
    else:
        probes["bus"] = server_probe(settings.BUS_URL)
    probes["channel_layer"] = check_channel_layer
    return probes


def run_checks(probes: dict[str, Probe | str], *, timeout: float) -> dict[str, CheckResult]:
    """Run ``probes`` in parallel; none takes longer than ``timeout`` seconds to report."""
    results: dict[str, CheckResult] = {}
    threads: dict[str, threading.Thread] = {}
    started = time.monotonic()

    def run(name: str, probe: Probe) -> None:
        begin = time.monotonic()
        try:
            probe(timeout)
        except Exception as exc:
            results[name] = CheckResult("error", _ms(begin), f"{type(exc).__name__}: {exc}")
        else:
            results[name] = CheckResult("ok", _ms(begin))

    for name, probe in probes.items():
        if isinstance(probe, str):
            results[name] = CheckResult("skipped", detail=probe)
            continue
        thread = threading.Thread(target=run, args=(name, probe), name=f"readyz-{name}")
        # Daemon: a check stuck in a driver must never keep the process from exiting.
        thread.daemon = True
        thread.start()
        threads[name] = thread
    deadline = started + timeout
    for name, thread in threads.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive() and name not in results:
            results[name] = CheckResult("timeout", _ms(started), f"no answer in {timeout:g}s")
    return {name: results[name] for name in probes}


def _ms(since: float) -> float:
    return round((time.monotonic() - since) * 1000, 2)
