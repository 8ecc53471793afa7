"""The one interface every transport implements, and the consumer loop brokers share.

A transport has two jobs on the publishing side: take over claimed outbox rows
(``deliver``: the in-process transport runs the local handlers, a broker transport hands
the messages to Redis/RabbitMQ) and carry transient events on the fast path
(``send_transient``). Broker transports also build consumers for the subscriber side.
"""

import logging
import threading
import traceback
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dsta.kernel.bus import metrics
from dsta.kernel.bus.conf import BusSettings
from dsta.kernel.bus.envelope import Envelope
from dsta.kernel.bus.event import Event
from dsta.kernel.bus.inbox import handle_once
from dsta.kernel.bus.outbox import Claimed
from dsta.kernel.bus.registry import Subscription

logger = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    """What became of a batch of claimed rows: handed over, or failed with an error text."""

    delivered: list[Claimed] = field(default_factory=list)
    failed: list[tuple[Claimed, str]] = field(default_factory=list)


class Transport(Protocol):
    kind: str

    def deliver(self, rows: Sequence[Claimed]) -> DeliveryReport:
        """Take over claimed outbox rows; a row reported delivered will not be sent again."""
        ...

    def send_transient(self, event: Event) -> None:
        """Carry a transient event now, at most once (no outbox, no inbox)."""
        ...

    def close(self) -> None:
        """Release connections (a later call reconnects)."""
        ...


class BrokerTransport(Transport, Protocol):
    """A transport whose subscribers consume in their own processes (``consume_events``)."""

    def consumer(
        self, *, subscriber: str, subscriptions: Sequence[Subscription], consumer_name: str
    ) -> "BrokerConsumer":
        """A consumer for one subscriber's durable subscriptions."""
        ...

    def transient_listener(self, subscriptions: Sequence[Subscription]) -> "TransientListener":
        """A listener for this process's transient subscriptions."""
        ...


def describe_error(exc: BaseException) -> str:
    """The error text stored on outbox rows and dead letters: type, message, traceback."""
    return "".join(traceback.format_exception(exc)).strip()


def run_transient_handlers(event: Event, subscriptions: Sequence[Subscription]) -> None:
    """Call transient handlers directly; a failing one is logged and counted, not retried."""
    for subscription in subscriptions:
        try:
            subscription.handler(event)
        except Exception:
            metrics.inc(metrics.handler_failures, event.name, subscription.subscriber)
            logger.warning(
                "bus transient handler failed",
                extra={"event": event.name, "subscriber": subscription.subscriber},
                exc_info=True,
            )
        else:
            metrics.inc(metrics.delivered, event.name, subscription.subscriber)


@dataclass(frozen=True)
class Delivery:
    """A message a broker handed to one subscriber's consumer."""

    envelope: Envelope
    attempt: int  # 1 on first delivery; grows with each retry or reclaim
    handle: Any  # the broker's own reference (stream entry, delivery tag)


class BrokerConsumer(ABC):
    """One subscriber's consumer: fetch, run the handler through the inbox, settle.

    ``settle`` acknowledges success, schedules a retry, or dead-letters after
    ``max_attempts``; acknowledging only after the handler's transaction committed is what
    makes a crash between the two a redelivery that the inbox turns into a no-op.
    """

    def __init__(
        self, *, conf: BusSettings, subscriber: str, subscriptions: Sequence[Subscription]
    ) -> None:
        self.conf = conf
        self.subscriber = subscriber
        self.by_name = {
            s.event_name: s
            for s in subscriptions
            if s.subscriber == subscriber and s.event_type.durable
        }

    @abstractmethod
    def setup(self) -> None:
        """Declare the subscriber's groups/queues and bindings (idempotent)."""

    @abstractmethod
    def fetch(self, *, max_count: int, timeout: float) -> list[Delivery]:
        """Up to ``max_count`` messages, waiting at most ``timeout`` seconds for the first."""

    @abstractmethod
    def ack(self, delivery: Delivery) -> None: ...

    @abstractmethod
    def retry_later(self, delivery: Delivery, error: str) -> None: ...

    @abstractmethod
    def dead_letter(self, delivery: Delivery, error: str) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def process(self, delivery: Delivery) -> str | None:
        """Run the handler once (inbox dedupe); the error text, or None on success."""
        subscription = self.by_name.get(delivery.envelope.name)
        if subscription is None:
            return None  # not ours (a binding left from an older version): drop it
        try:
            handle_once(subscription, delivery.envelope.decode())
        except Exception as exc:
            return describe_error(exc)
        return None

    def settle(self, delivery: Delivery, error: str | None) -> None:
        """Ack a success; retry or dead-letter a failure."""
        if error is None:
            self.ack(delivery)
        elif delivery.attempt >= self.conf.max_attempts:
            self.dead_letter(delivery, error)
            metrics.inc(metrics.dead_lettered, delivery.envelope.name)
        else:
            self.retry_later(delivery, error)
            metrics.inc(metrics.retried, delivery.envelope.name)

    def poll_once(self, *, max_count: int = 100, timeout: float = 1.0) -> int:
        """Fetch one batch and settle each message; the number of messages seen."""
        deliveries = self.fetch(max_count=max_count, timeout=timeout)
        for delivery in deliveries:
            if delivery.attempt > self.conf.max_attempts:
                # Redelivered past the limit without a recorded failure: it keeps killing
                # its consumer. Park it instead of running it again.
                self.dead_letter(delivery, "delivered too many times (consumer crashes?)")
                metrics.inc(metrics.dead_lettered, delivery.envelope.name)
                continue
            self.settle(delivery, self.process(delivery))
        return len(deliveries)

    def run(self, stop: threading.Event, *, timeout: float = 1.0) -> None:
        """Consume until ``stop`` is set."""
        self.setup()
        while not stop.is_set():
            self.poll_once(timeout=timeout)


class TransientListener(ABC):
    """Receives transient events for this process's handlers (broadcast, at most once)."""

    def __init__(self, subscriptions: Sequence[Subscription]) -> None:
        self.subscriptions = [s for s in subscriptions if not s.event_type.durable]

    @abstractmethod
    def poll_once(self, *, timeout: float) -> int:
        """Handle what arrives within ``timeout`` seconds; the number of events handled."""

    @abstractmethod
    def close(self) -> None: ...

    def handle(self, raw: str | bytes) -> None:
        """Decode one message and run the matching handlers; unreadable ones are logged."""
        try:
            envelope = Envelope.from_json(raw)
            event = envelope.decode()
        except Exception:
            logger.warning("bus transient message unreadable", exc_info=True)
            return
        run_transient_handlers(
            event, [s for s in self.subscriptions if s.event_name == envelope.name]
        )

    def run(self, stop: threading.Event, *, timeout: float = 1.0) -> None:
        while not stop.is_set():
            self.poll_once(timeout=timeout)
