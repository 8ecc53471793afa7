"""RabbitMQ transport against a real broker: relay -> topic exchange -> queue -> handler."""

from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest

from dsta.kernel.bus import publish, registry
from dsta.kernel.bus.consuming import build_consumer
from dsta.kernel.bus.models import OutboxMessage
from dsta.kernel.bus.tests.brokers import Recorder
from dsta.kernel.bus.tests.conftest import Subscriptions, unique_subscriber
from dsta.kernel.bus.tests.sample_events import OrderFilled, TickReceived
from dsta.kernel.bus.transports import get_broker_transport
from dsta.kernel.bus.transports.rabbitmq import (
    ERROR_HEADER,
    exchange_name,
    queue_name,
    transient_exchange_name,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]
State = OutboxMessage.State


class Broker:
    """A side connection for the test's own looks at queues, and cleanup."""

    def __init__(self, url: str, namespace: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.namespace = namespace
        self.subscribers: list[str] = []

    def message_count(self, queue: str) -> int:
        return self.channel.queue_declare(queue, passive=True).method.message_count

    def cleanup(self) -> None:
        for subscriber in self.subscribers:
            queue = queue_name(self.namespace, subscriber)
            for name in (queue, f"{queue}.retry", f"{queue}.dead"):
                self.channel.queue_delete(name)
        self.channel.exchange_delete(exchange_name(self.namespace))
        self.channel.exchange_delete(transient_exchange_name(self.namespace))
        self.connection.close()


@pytest.fixture
def rabbit(
    service_url: Callable[[str], str], settings: Any, bus_namespace: str
) -> Iterator[Broker]:
    url = service_url("rabbitmq")
    settings.BUS_URL = url
    settings.BUS_KIND = "rabbitmq"
    broker = Broker(url, bus_namespace)
    yield broker
    broker.cleanup()


def _subscriber(rabbit: Broker, subscriptions: Subscriptions, recorder: Recorder) -> str:
    name = unique_subscriber()
    rabbit.subscribers.append(name)
    subscriptions.add(OrderFilled, recorder, name)
    return name


def test_publish_relay_consume_handles_once(rabbit: Broker, subscriptions: Subscriptions) -> None:
    recorder = Recorder()
    subscriber = _subscriber(rabbit, subscriptions, recorder)
    consumer = build_consumer(subscriber)
    try:
        consumer.setup()
        fill = OrderFilled(order_id="o-1")
        publish(fill)  # the kick publishes it (with a publisher confirm) right after commit
        assert OutboxMessage.objects.get(event_id=fill.id).state == State.DELIVERED
        assert consumer.poll_once(timeout=2) == 1
        assert recorder.seen == [fill]
        assert consumer.poll_once(timeout=0.1) == 0
    finally:
        consumer.close()
    assert rabbit.message_count(queue_name(rabbit.namespace, subscriber)) == 0


def test_redelivery_after_a_consumer_crash_is_deduplicated(
    rabbit: Broker, subscriptions: Subscriptions
) -> None:
    recorder = Recorder()
    subscriber = _subscriber(rabbit, subscriptions, recorder)
    crashing = build_consumer(subscriber)
    crashing.setup()
    fill = OrderFilled(order_id="o-1")
    publish(fill)

    # The handler's transaction commits, then the consumer's connection dies before the ack.
    [delivery] = crashing.fetch(max_count=10, timeout=2)
    assert crashing.process(delivery) is None
    crashing.close()

    survivor = build_consumer(subscriber)
    try:
        assert survivor.poll_once(timeout=2) == 1  # RabbitMQ redelivered the unacked message
    finally:
        survivor.close()
    assert recorder.seen == [fill]  # the inbox made the second run a no-op
    assert rabbit.message_count(queue_name(rabbit.namespace, subscriber)) == 0


def test_failures_are_retried_after_backoff_then_dead_lettered(
    rabbit: Broker, subscriptions: Subscriptions, settings: Any
) -> None:
    settings.BUS_RETRY_BASE_SECONDS = 0.05
    settings.BUS_MAX_ATTEMPTS = 2
    flaky, broken = Recorder(failures=1), Recorder(failures=100)
    names = [_subscriber(rabbit, subscriptions, r) for r in (flaky, broken)]
    consumers = [build_consumer(name) for name in names]
    try:
        for consumer in consumers:
            consumer.setup()
        fill = OrderFilled(order_id="o-1")
        publish(fill)
        for _ in range(2):
            for consumer in consumers:
                # The retry copy waits 50 ms in the retry queue, then comes back.
                assert consumer.poll_once(timeout=3) == 1
    finally:
        for consumer in consumers:
            consumer.close()
    assert flaky.seen == [fill]
    assert flaky.calls == 2
    assert broken.calls == 2
    assert broken.seen == []
    dead_queue = f"{queue_name(rabbit.namespace, names[1])}.dead"
    method, properties, body = rabbit.channel.basic_get(dead_queue, auto_ack=True)
    assert method is not None
    assert body is not None
    assert "subscriber is down" in properties.headers[ERROR_HEADER]
    assert str(fill.id) in body.decode()


def test_transient_events_are_broadcast(rabbit: Broker, subscriptions: Subscriptions) -> None:
    ticks = Recorder()
    subscriptions.add(TickReceived, ticks, unique_subscriber())
    listener = get_broker_transport().transient_listener(registry.subscriptions())
    try:
        tick = TickReceived(price=42.0)
        publish(tick)
        assert listener.poll_once(timeout=2) == 1
        assert ticks.seen == [tick]
    finally:
        listener.close()
    assert not OutboxMessage.objects.exists()
