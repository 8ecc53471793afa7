"""Running this process's subscribers against a broker (``manage.py consume_events``).

One thread per subscriber (each with its own broker connection and database connection)
and one for the transient listener. A thread that loses its broker or database logs the
error, waits, and starts over; unacknowledged messages are redelivered meanwhile.
"""

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Protocol

from django.db import close_old_connections, connections

from dsta.kernel.bus import registry
from dsta.kernel.bus.transports import close_transports, get_broker_transport
from dsta.kernel.bus.transports.base import BrokerConsumer

logger = logging.getLogger(__name__)


class _Runnable(Protocol):
    def run(self, stop: threading.Event, *, timeout: float = 1.0) -> None: ...

    def close(self) -> None: ...


def default_consumer_name() -> str:
    """Unique per process, stable for its life: ``host-pid``."""
    return f"{socket.gethostname()}-{os.getpid()}"


def durable_subscribers(only: Iterable[str] | None = None) -> list[str]:
    """Names of this process's subscribers of durable events (optionally filtered)."""
    wanted = set(only) if only else None
    names = {
        s.subscriber
        for s in registry.subscriptions()
        if s.event_type.durable and (wanted is None or s.subscriber in wanted)
    }
    return sorted(names)


def build_consumer(subscriber: str, *, consumer_name: str | None = None) -> BrokerConsumer:
    """A consumer for one local subscriber, on the configured broker transport."""
    return get_broker_transport().consumer(
        subscriber=subscriber,
        subscriptions=registry.subscriptions(),
        consumer_name=consumer_name or default_consumer_name(),
    )


def consume_available(subscribers: Iterable[str], *, consumer_name: str | None = None) -> int:
    """Consume what is waiting for each subscriber, then return the number of messages."""
    total = 0
    for subscriber in subscribers:
        consumer = build_consumer(subscriber, consumer_name=consumer_name)
        try:
            consumer.setup()
            while processed := consumer.poll_once(timeout=0.2):
                total += processed
        finally:
            consumer.close()
    return total


def start(
    stop: threading.Event,
    *,
    subscribers: Iterable[str],
    consumer_name: str | None = None,
    transient: bool = True,
    timeout: float = 1.0,
) -> list[threading.Thread]:
    """Start the consumer threads; they run until ``stop`` is set."""
    name = consumer_name or default_consumer_name()
    threads = [
        threading.Thread(
            target=_supervise,
            args=(partial(build_consumer, subscriber, consumer_name=name), stop, timeout),
            name=f"bus-consumer-{subscriber}",
            daemon=True,
        )
        for subscriber in subscribers
    ]
    if transient and any(not s.event_type.durable for s in registry.subscriptions()):
        threads.append(
            threading.Thread(
                target=_supervise,
                args=(_build_listener, stop, timeout),
                name="bus-transient-listener",
                daemon=True,
            )
        )
    for thread in threads:
        thread.start()
    return threads


def _build_listener() -> _Runnable:
    return get_broker_transport().transient_listener(registry.subscriptions())


def _supervise(build: Callable[[], _Runnable], stop: threading.Event, timeout: float) -> None:
    pause = 1.0
    try:
        while not stop.is_set():
            runnable: _Runnable | None = None
            try:
                close_old_connections()
                runnable = build()
                runnable.run(stop, timeout=timeout)
                pause = 1.0
            except Exception:
                logger.exception("bus consumer failed; restarting", extra={"pause": pause})
                stop.wait(pause)
                pause = min(pause * 2, 30.0)
            finally:
                if runnable is not None:
                    runnable.close()
                close_transports()
    finally:
        connections.close_all()
