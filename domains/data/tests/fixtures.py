"""Fixtures for ingestion, serving and streaming tests (imported by ``conftest.py``).

* ``recorded_exchange(name)``: a :class:`RecordedExchange` over a real file, registered with the
  rpc registry as the exchange domain's ``ExchangeApi`` for this test only.
* ``job_worker``: the data domain's job actors re-bound to a fresh in-process broker with a real
  worker on it (so a test never touches another run's Redis queues), retries made fast.
* ``viewer`` / ``trader``: signed-in API clients with those roles.
* ``inprocess_bus``: events delivered in this process whatever ``BUS_URL`` says, for tests of
  what our handlers do with them (the broker transports are the kernel's tests).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import dramatiq
import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from domains.data import tasks
from domains.data.tests.fakes import RecordedExchange, load_candles
from domains.exchange.api import ExchangeApi
from dsta.kernel import rpc
from dsta.kernel.jobs.api import RunningWorker, build_broker, start_worker

JOIN_MS = 30_000


@pytest.fixture
def recorded_exchange(shared_data: Path) -> Iterator[Callable[..., RecordedExchange]]:
    original = rpc.resolve(ExchangeApi)

    def install(name: str, *, venue_page_size: int | None = None) -> RecordedExchange:
        fake = RecordedExchange(
            load_candles(shared_data, name), venue_page_size=venue_page_size, fallback=original
        )
        rpc.register(ExchangeApi, fake)
        return fake

    yield install
    rpc.register(ExchangeApi, original)


@dataclass
class JobWorker:
    broker: dramatiq.Broker
    running: RunningWorker

    def drain(self) -> None:
        """Wait until every job message (and retry) of the data actors is processed."""
        for queue in {tasks.ingest.queue_name, tasks.fill_gaps.queue_name}:
            self.broker.join(queue, timeout=JOIN_MS)
        self.running.join()


@pytest.fixture
def job_worker() -> Iterator[JobWorker]:
    broker = build_broker("inprocess")
    actors: list[dramatiq.Actor[Any, Any]] = [tasks.ingest, tasks.fill_gaps]
    saved = [(actor, actor.broker, dict(actor.options)) for actor in actors]
    for actor in actors:
        actor.broker = broker
        broker.declare_actor(actor)
        # A retried job waits milliseconds here, not the production 5 s backoff.
        actor.options.update(min_backoff=10, max_backoff=20)
    running = start_worker(broker, threads=1, worker_timeout_ms=50)
    try:
        yield JobWorker(broker=broker, running=running)
    finally:
        running.stop()
        for actor, old_broker, options in saved:
            actor.broker = old_broker
            actor.options.clear()
            actor.options.update(options)
        broker.close()


@pytest.fixture
def inprocess_bus(settings: Any) -> None:
    settings.BUS_KIND = "inprocess"
    settings.BUS_URL = ""


def _client(django_user_model: Any, role: str) -> Any:
    group, _ = Group.objects.get_or_create(name=role)
    user = django_user_model.objects.create_user(username=f"{role}{uuid4().hex[:10]}")
    user.groups.add(group)
    client = APIClient()
    client.force_authenticate(user=user)
    client.user = user  # type: ignore[attr-defined]  # tests read who the client is
    return client


@pytest.fixture
def viewer(django_user_model: Any) -> Any:
    """An API client signed in with the viewer role (reads only)."""
    return _client(django_user_model, "viewer")


@pytest.fixture
def trader(django_user_model: Any) -> Any:
    """An API client signed in with the trader role (may start syncs and gap fills)."""
    return _client(django_user_model, "trader")
