"""Who is who on the bus: known event types and the handlers subscribed to them.

Django-free, like ``event.py``. Event classes register themselves when they are defined;
handlers are subscribed by domains in ``AppConfig.ready`` (or by modules named with
``--import`` on the bus commands).
"""

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from dsta.kernel.bus.event import Event

E = TypeVar("E", bound="Event")
Handler = Callable[[Any], object]

# A subscriber name is stable (the inbox dedupes on it) and becomes part of Redis group and
# RabbitMQ queue names, so it stays in a conservative alphabet.
SUBSCRIBER_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
SUBSCRIBER_MAX_LENGTH = 150

_lock = threading.Lock()
_event_types: dict[str, type["Event"]] = {}
_subscriptions: dict[str, dict[str, "Subscription"]] = {}


@dataclass(frozen=True)
class Subscription:
    """One handler of one event type, known to the inbox by its ``subscriber`` name."""

    event_type: type["Event"]
    handler: Handler
    subscriber: str

    @property
    def event_name(self) -> str:
        return self.event_type.name


def register_event_type(event_type: type["Event"]) -> None:
    """Record a concrete event class (called by ``Event`` at class creation)."""
    with _lock:
        known = _event_types.get(event_type.name)
        if known is not None and _qualified(known) != _qualified(event_type):
            raise TypeError(
                f"event name {event_type.name!r} is already used by {_qualified(known)}; "
                "a breaking change needs a new major version in the name"
            )
        # Same module and qualname: a re-import (reload); the newest class wins.
        _event_types[event_type.name] = event_type


def event_types() -> list[type["Event"]]:
    """Every concrete event class defined so far in this process, sorted by name."""
    with _lock:
        return [_event_types[name] for name in sorted(_event_types)]


def event_type(name: str) -> type["Event"] | None:
    """The event class registered under ``name``, if any."""
    return _event_types.get(name)


def subscribe(event_type: type[E], handler: Callable[[E], object], *, subscriber: str) -> None:
    """Subscribe ``handler`` to ``event_type`` under the stable name ``subscriber``.

    Subscribing the same handler twice is a no-op; a different handler under a name already
    used for this event type is an error, because the inbox would treat them as one.
    """
    if not event_type.is_concrete():
        raise TypeError(f"{event_type.__qualname__} is an abstract event base (no name)")
    if len(subscriber) > SUBSCRIBER_MAX_LENGTH or not SUBSCRIBER_NAME.match(subscriber):
        raise ValueError(
            f"subscriber {subscriber!r} must be a dotted lowercase name like "
            f"'trading.kill_switch' (at most {SUBSCRIBER_MAX_LENGTH} characters)"
        )
    subscription = Subscription(event_type=event_type, handler=handler, subscriber=subscriber)
    with _lock:
        by_subscriber = _subscriptions.setdefault(event_type.name, {})
        existing = by_subscriber.get(subscriber)
        if existing is not None and existing != subscription:
            raise ValueError(
                f"subscriber {subscriber!r} already has a handler for {event_type.name}"
            )
        by_subscriber[subscriber] = subscription


def unsubscribe(event_type: type["Event"], *, subscriber: str) -> None:
    """Remove a subscription (tests, and processes that hand a subscriber to another)."""
    with _lock:
        _subscriptions.get(event_type.name, {}).pop(subscriber, None)


def subscriptions_for(event_name: str) -> list[Subscription]:
    """The local subscriptions of one event name, in subscription order."""
    with _lock:
        return list(_subscriptions.get(event_name, {}).values())


def subscriptions() -> list[Subscription]:
    """Every local subscription, grouped by event name."""
    with _lock:
        return [sub for by_name in _subscriptions.values() for sub in by_name.values()]


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
