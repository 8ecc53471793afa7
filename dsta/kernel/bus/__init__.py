"""The DSTA event bus: versioned events, transactional outbox, relay, inbox, transports.

Importing this package does not import Django: domains' ``events.py`` contracts do
``from dsta.kernel.bus import Event``. The functions that touch the database import their
modules when first called.

    publish(OrderFilled(...))                         # in the business transaction
    subscribe(OrderFilled, on_fill, subscriber="trading.positions")   # in AppConfig.ready
"""

from datetime import datetime
from typing import TYPE_CHECKING

from dsta.kernel.bus.event import Event
from dsta.kernel.bus.registry import (
    Subscription,
    event_type,
    event_types,
    subscribe,
    subscriptions,
    subscriptions_for,
    unsubscribe,
)

if TYPE_CHECKING:
    from dsta.kernel.bus.relay import BackgroundRelay

__all__ = [
    "Event",
    "Subscription",
    "drain",
    "event_type",
    "event_types",
    "publish",
    "relay_once",
    "retry_dead",
    "start_background_relay",
    "subscribe",
    "subscriptions",
    "subscriptions_for",
    "unsubscribe",
]


def publish(event: Event) -> None:
    """Publish ``event`` (durable: via the outbox after commit; transient: now)."""
    from dsta.kernel.bus.publisher import publish as _publish

    _publish(event)


def relay_once(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Deliver one batch of due outbox rows synchronously; the number processed."""
    from dsta.kernel.bus.relay import relay_once as _relay_once

    return _relay_once(now=now, limit=limit)


def drain(*, now: datetime | None = None) -> int:
    """Deliver everything due, synchronously (tests, scripts); the number processed."""
    from dsta.kernel.bus.relay import drain as _drain

    return _drain(now=now)


def retry_dead() -> int:
    """Give every dead-lettered outbox row a fresh set of attempts; the number revived."""
    from dsta.kernel.bus.outbox import retry_dead as _retry_dead

    return _retry_dead()


def start_background_relay(*, interval: float | None = None) -> "BackgroundRelay":
    """Start a relay thread in this process (embedded mode: retries and crash recovery)."""
    from dsta.kernel.bus.relay import start_background_relay as _start

    return _start(interval=interval)
