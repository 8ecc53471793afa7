"""Fixtures for the bus tests: subscriptions that go away after the test, an effects table,
and isolated broker namespaces."""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection

from dsta.kernel.bus import Event, registry
from dsta.kernel.bus.transports import close_transports

EFFECTS_TABLE = "bus_test_effect"


class Subscriptions:
    """Subscribe handlers for one test; all are removed at teardown."""

    def __init__(self) -> None:
        self._added: list[tuple[type[Event], str]] = []

    def add(
        self, event_type: type[Event], handler: Callable[[Any], object], subscriber: str
    ) -> None:
        registry.subscribe(event_type, handler, subscriber=subscriber)
        self._added.append((event_type, subscriber))

    def clear(self) -> None:
        for event_type, subscriber in self._added:
            registry.unsubscribe(event_type, subscriber=subscriber)
        self._added.clear()


@pytest.fixture
def subscriptions() -> Iterator[Subscriptions]:
    subs = Subscriptions()
    yield subs
    subs.clear()


def unique_subscriber(prefix: str = "bustest") -> str:
    return f"{prefix}.s{uuid.uuid4().hex[:12]}"


def record_effect(subscriber: str, event: Event) -> None:
    """A handler's side effect, written in the handler's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EFFECTS_TABLE} (subscriber, event_id) VALUES (%s, %s)",
            [subscriber, str(event.id)],
        )


def effect_counts() -> dict[tuple[str, str], int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT subscriber, event_id, COUNT(*) FROM {EFFECTS_TABLE} "
            "GROUP BY subscriber, event_id"
        )
        return {(s, e): n for s, e, n in cursor.fetchall()}


@pytest.fixture
def effects_table() -> Iterator[str]:
    """A plain table for handler effects: rolled back with the handler's failed transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {EFFECTS_TABLE} "
            "(subscriber varchar(200), event_id varchar(64))"
        )
    yield EFFECTS_TABLE
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {EFFECTS_TABLE}")


@pytest.fixture
def bus_namespace(settings: Any) -> Iterator[str]:
    """A namespace no other test run uses, for Redis keys and RabbitMQ names."""
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    settings.DSTA_NAMESPACE = namespace
    yield namespace
    close_transports()
