"""RabbitMQ: a topic exchange, one durable queue per subscriber (pika, blocking adapter).

Names (``ns`` = ``DSTA_NAMESPACE``):
- exchange ``{ns}.events`` (topic, durable): the relay publishes persistent messages with
  publisher confirms, routing key = event name;
- queue ``{ns}.bus.{subscriber}`` (durable), bound to each event name the subscriber handles;
  a new subscriber gets the events published after its queue was first declared;
- ``{ns}.bus.{subscriber}.retry``: failed messages wait there for their backoff (per-message
  TTL), then dead-letter back into the subscriber's queue with the attempt header bumped;
- ``{ns}.bus.{subscriber}.dead``: messages that failed ``BUS_MAX_ATTEMPTS`` times;
- exchange ``{ns}.events.transient``: fast path; each listening process binds an exclusive,
  auto-deleted queue (broadcast, at most once).

A consumer acks after the handler's transaction committed; if it dies first, RabbitMQ
redelivers the unacked message and the inbox makes the second run a no-op.
"""

import contextlib
import time
from collections.abc import Sequence
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from dsta.kernel.bus.conf import BusSettings
from dsta.kernel.bus.envelope import Envelope
from dsta.kernel.bus.event import Event
from dsta.kernel.bus.outbox import Claimed
from dsta.kernel.bus.registry import Subscription
from dsta.kernel.bus.transports.base import (
    BrokerConsumer,
    Delivery,
    DeliveryReport,
    TransientListener,
    describe_error,
)

ATTEMPT_HEADER = "x-dsta-attempt"
ERROR_HEADER = "x-dsta-error"
_PERSISTENT = pika.DeliveryMode.Persistent
_TRANSIENT = pika.DeliveryMode.Transient


def exchange_name(namespace: str) -> str:
    return f"{namespace}.events"


def transient_exchange_name(namespace: str) -> str:
    return f"{namespace}.events.transient"


def queue_name(namespace: str, subscriber: str) -> str:
    return f"{namespace}.bus.{subscriber}"


def _properties(envelope: Envelope, *, persistent: bool, **extra: Any) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type="application/json",
        delivery_mode=_PERSISTENT if persistent else _TRANSIENT,
        message_id=str(envelope.event_id),
        type=envelope.name,
        **extra,
    )


class RabbitMQTransport:
    kind = "rabbitmq"

    def __init__(self, conf: BusSettings) -> None:
        self.conf = conf
        self.parameters = pika.URLParameters(conf.url)
        self._connection: pika.BlockingConnection | None = None
        self._confirmed: BlockingChannel | None = None
        self._fast: BlockingChannel | None = None

    def deliver(self, rows: Sequence[Claimed]) -> DeliveryReport:
        report = DeliveryReport()
        try:
            channel = self._confirmed_channel()
        except pika.exceptions.AMQPError as exc:
            report.failed = [(row, describe_error(exc)) for row in rows]
            return report
        for index, row in enumerate(rows):
            try:
                channel.basic_publish(
                    exchange_name(self.conf.namespace),
                    row.envelope.name,
                    row.envelope.to_json().encode(),
                    _properties(row.envelope, persistent=True),
                )
            except pika.exceptions.NackError as exc:
                report.failed.append((row, describe_error(exc)))
            except pika.exceptions.AMQPError as exc:
                # The connection is gone: this row and the rest wait for a retry.
                self.close()
                report.failed.extend((rest, describe_error(exc)) for rest in rows[index:])
                break
            else:
                report.delivered.append(row)
        return report

    def send_transient(self, event: Event) -> None:
        envelope = Envelope.from_event(event)
        try:
            self._fast_channel().basic_publish(
                transient_exchange_name(self.conf.namespace),
                event.name,
                envelope.to_json().encode(),
                _properties(envelope, persistent=False),
            )
        except pika.exceptions.AMQPError:
            self.close()
            raise

    def consumer(
        self, *, subscriber: str, subscriptions: Sequence[Subscription], consumer_name: str
    ) -> "RabbitMQConsumer":
        # RabbitMQ names consumers itself; the connection name helps find this one.
        return RabbitMQConsumer(
            parameters=self.parameters,
            conf=self.conf,
            subscriber=subscriber,
            subscriptions=subscriptions,
        )

    def transient_listener(
        self, subscriptions: Sequence[Subscription]
    ) -> "RabbitMQTransientListener":
        return RabbitMQTransientListener(self.parameters, self.conf, subscriptions)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        self._confirmed = self._fast = None
        if connection is not None and connection.is_open:
            # already broken; dropping our reference is all that is left
            with contextlib.suppress(pika.exceptions.AMQPError):
                connection.close()

    def _open(self) -> pika.BlockingConnection:
        if self._connection is None or not self._connection.is_open:
            self.close()
            self._connection = pika.BlockingConnection(self.parameters)
            channel = self._connection.channel()
            # Both sides declare with the same arguments, so whoever comes first wins.
            channel.exchange_declare(exchange_name(self.conf.namespace), "topic", durable=True)
            channel.exchange_declare(
                transient_exchange_name(self.conf.namespace), "topic", durable=True
            )
            channel.close()
        return self._connection

    def _confirmed_channel(self) -> BlockingChannel:
        connection = self._open()
        if self._confirmed is None or not self._confirmed.is_open:
            self._confirmed = connection.channel()
            self._confirmed.confirm_delivery()
        return self._confirmed

    def _fast_channel(self) -> BlockingChannel:
        connection = self._open()
        if self._fast is None or not self._fast.is_open:
            self._fast = connection.channel()
        return self._fast


class RabbitMQConsumer(BrokerConsumer):
    def __init__(
        self,
        *,
        parameters: pika.URLParameters,
        conf: BusSettings,
        subscriber: str,
        subscriptions: Sequence[Subscription],
        prefetch: int = 100,
    ) -> None:
        super().__init__(conf=conf, subscriber=subscriber, subscriptions=subscriptions)
        self.queue = queue_name(conf.namespace, subscriber)
        self.retry_queue = f"{self.queue}.retry"
        self.dead_queue = f"{self.queue}.dead"
        self.prefetch = prefetch
        self.connection = pika.BlockingConnection(parameters)
        self.channel = self.connection.channel()
        self._ready = False

    def setup(self) -> None:
        if self._ready:
            return
        channel = self.channel
        exchange = exchange_name(self.conf.namespace)
        channel.exchange_declare(exchange, "topic", durable=True)
        channel.queue_declare(self.queue, durable=True)
        for name in sorted(self.by_name):
            channel.queue_bind(self.queue, exchange, routing_key=name)
        # Expired retries go back to the subscriber's queue through the default exchange.
        channel.queue_declare(
            self.retry_queue,
            durable=True,
            arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": self.queue},
        )
        channel.queue_declare(self.dead_queue, durable=True)
        channel.basic_qos(prefetch_count=self.prefetch)
        channel.confirm_delivery()
        self._ready = True

    def fetch(self, *, max_count: int, timeout: float) -> list[Delivery]:
        self.setup()
        deadline = time.monotonic() + timeout
        deliveries: list[Delivery] = []
        # A short inactivity timeout only wakes us to check the deadline: messages are
        # pushed by the broker, so they arrive without waiting for it.
        for method, properties, body in self.channel.consume(self.queue, inactivity_timeout=0.05):
            if method is None or properties is None or body is None:
                if deliveries or time.monotonic() >= deadline:
                    break
                continue
            headers = properties.headers or {}
            try:
                envelope = Envelope.from_json(body)
            except (ValueError, KeyError, TypeError) as exc:
                self._park(body, properties, describe_error(exc))
                self.channel.basic_ack(method.delivery_tag)
                continue
            deliveries.append(
                Delivery(
                    envelope=envelope,
                    attempt=int(headers.get(ATTEMPT_HEADER, 1)),
                    handle=(method.delivery_tag, properties),
                )
            )
            if len(deliveries) >= max_count or self.channel.get_waiting_message_count() == 0:
                break
        return deliveries

    def ack(self, delivery: Delivery) -> None:
        delivery_tag, _ = delivery.handle
        self.channel.basic_ack(delivery_tag)

    def retry_later(self, delivery: Delivery, error: str) -> None:
        delivery_tag, properties = delivery.handle
        backoff_ms = int(self.conf.backoff(delivery.attempt).total_seconds() * 1000)
        headers = {
            **(properties.headers or {}),
            ATTEMPT_HEADER: delivery.attempt + 1,
            ERROR_HEADER: error[-1000:],
        }
        self.channel.basic_publish(
            "",
            self.retry_queue,
            delivery.envelope.to_json().encode(),
            _properties(
                delivery.envelope, persistent=True, headers=headers, expiration=str(backoff_ms)
            ),
        )
        # Ack only once the retry copy is confirmed: a crash in between duplicates, not loses.
        self.channel.basic_ack(delivery_tag)

    def dead_letter(self, delivery: Delivery, error: str) -> None:
        delivery_tag, properties = delivery.handle
        self._park(delivery.envelope.to_json().encode(), properties, error)
        self.channel.basic_ack(delivery_tag)

    def close(self) -> None:
        if self.connection.is_open:
            # the broker already dropped us; unacked messages are requeued anyway
            with contextlib.suppress(pika.exceptions.AMQPError):
                self.connection.close()

    def _park(self, body: bytes, properties: pika.BasicProperties, error: str) -> None:
        headers = {**(properties.headers or {}), ERROR_HEADER: error[-4000:]}
        self.channel.basic_publish(
            "",
            self.dead_queue,
            body,
            pika.BasicProperties(
                content_type=properties.content_type,
                delivery_mode=_PERSISTENT,
                message_id=properties.message_id,
                type=properties.type,
                headers=headers,
            ),
        )


class RabbitMQTransientListener(TransientListener):
    def __init__(
        self,
        parameters: pika.URLParameters,
        conf: BusSettings,
        subscriptions: Sequence[Subscription],
    ) -> None:
        super().__init__(subscriptions)
        self.connection = pika.BlockingConnection(parameters)
        self.channel = self.connection.channel()
        exchange = transient_exchange_name(conf.namespace)
        self.channel.exchange_declare(exchange, "topic", durable=True)
        declared = self.channel.queue_declare("", exclusive=True, auto_delete=True)
        self.queue = declared.method.queue
        for name in sorted({s.event_name for s in self.subscriptions}):
            self.channel.queue_bind(self.queue, exchange, routing_key=name)

    def poll_once(self, *, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        handled = 0
        consume = self.channel.consume(self.queue, auto_ack=True, inactivity_timeout=0.05)
        for method, _, body in consume:
            if method is None or body is None:
                if handled or time.monotonic() >= deadline:
                    break
                continue
            self.handle(body)
            handled += 1
            if self.channel.get_waiting_message_count() == 0:
                break
        return handled

    def close(self) -> None:
        if self.connection.is_open:
            # nothing left to release
            with contextlib.suppress(pika.exceptions.AMQPError):
                self.connection.close()
