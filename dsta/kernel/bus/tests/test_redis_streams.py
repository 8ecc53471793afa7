"""Redis streams transport against a real Redis: relay -> stream -> consumer group -> handler."""

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.core.management import call_command

from dsta.kernel.bus import consuming, publish
from dsta.kernel.bus.consuming import build_consumer
from dsta.kernel.bus.models import OutboxMessage
from dsta.kernel.bus.tests.brokers import Recorder
from dsta.kernel.bus.tests.conftest import Subscriptions, unique_subscriber
from dsta.kernel.bus.tests.sample_events import OrderFilled, TickReceived
from dsta.kernel.bus.transports import get_broker_transport
from dsta.kernel.bus.transports.redis_streams import dead_letter_key, stream_key

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]
State = OutboxMessage.State


@pytest.fixture
def redis_bus(
    service_url: Callable[[str], str], settings: Any, bus_namespace: str
) -> Iterator[redis.Redis]:
    url = service_url("redis")
    settings.BUS_URL = url
    settings.BUS_KIND = "redis"
    client = redis.Redis.from_url(url, decode_responses=True)
    yield client
    for key in client.scan_iter(f"{bus_namespace}:*"):
        client.delete(key)
    client.close()


def _pending(client: redis.Redis, stream: str, group: str) -> int:
    return int(client.xpending(stream, group)["pending"])


def test_publish_relay_consume_handles_once(
    redis_bus: redis.Redis, subscriptions: Subscriptions, bus_namespace: str
) -> None:
    recorder, subscriber = Recorder(), unique_subscriber()
    subscriptions.add(OrderFilled, recorder, subscriber)
    consumer = build_consumer(subscriber, consumer_name="c1")
    consumer.setup()

    fill = OrderFilled(order_id="o-1")
    publish(fill)  # committed: the kick XADDs it at once
    assert OutboxMessage.objects.get(event_id=fill.id).state == State.DELIVERED
    stream = stream_key(bus_namespace, OrderFilled.name)
    assert redis_bus.xlen(stream) == 1

    assert consumer.poll_once(timeout=2) == 1
    assert recorder.seen == [fill]
    assert _pending(redis_bus, stream, subscriber) == 0
    assert consumer.poll_once(timeout=0.05) == 0


def test_redelivery_after_a_consumer_crash_is_deduplicated(
    redis_bus: redis.Redis, subscriptions: Subscriptions, bus_namespace: str, settings: Any
) -> None:
    settings.BUS_REDIS_CLAIM_IDLE_SECONDS = 0  # reclaim at once instead of after a minute
    recorder, subscriber = Recorder(), unique_subscriber()
    subscriptions.add(OrderFilled, recorder, subscriber)
    crashing = build_consumer(subscriber, consumer_name="crashing")
    crashing.setup()
    fill = OrderFilled(order_id="o-1")
    publish(fill)

    # The first consumer runs the handler (its transaction commits), then dies before XACK.
    [delivery] = crashing.fetch(max_count=10, timeout=2)
    assert crashing.process(delivery) is None
    crashing.close()
    stream = stream_key(bus_namespace, OrderFilled.name)
    assert _pending(redis_bus, stream, subscriber) == 1

    survivor = build_consumer(subscriber, consumer_name="survivor")
    [reclaimed] = survivor.fetch(max_count=10, timeout=1)
    assert reclaimed.attempt == 2
    assert reclaimed.envelope.event_id == fill.id
    survivor.settle(reclaimed, survivor.process(reclaimed))
    assert recorder.seen == [fill]  # the inbox made the second run a no-op
    assert _pending(redis_bus, stream, subscriber) == 0


def test_failures_are_retried_then_dead_lettered(
    redis_bus: redis.Redis, subscriptions: Subscriptions, bus_namespace: str, settings: Any
) -> None:
    settings.BUS_REDIS_CLAIM_IDLE_SECONDS = 0
    settings.BUS_MAX_ATTEMPTS = 3
    flaky, broken = Recorder(failures=1), Recorder(failures=100)
    flaky_name, broken_name = unique_subscriber(), unique_subscriber()
    subscriptions.add(OrderFilled, flaky, flaky_name)
    subscriptions.add(OrderFilled, broken, broken_name)
    consumers = [build_consumer(name, consumer_name="c1") for name in (flaky_name, broken_name)]
    for consumer in consumers:
        consumer.setup()
    fill = OrderFilled(order_id="o-1")
    publish(fill)

    for _ in range(4):
        for consumer in consumers:
            consumer.poll_once(timeout=0.2)
    assert flaky.seen == [fill]
    assert flaky.calls == 2
    assert broken.calls == 3
    assert broken.seen == []
    [(_, dead)] = redis_bus.xrange(dead_letter_key(bus_namespace))
    assert dead["subscriber"] == broken_name
    assert dead["attempts"] == "3"
    assert "subscriber is down" in dead["error"]
    stream = stream_key(bus_namespace, OrderFilled.name)
    assert _pending(redis_bus, stream, flaky_name) == _pending(redis_bus, stream, broken_name) == 0


def test_consume_events_command_once(redis_bus: redis.Redis, subscriptions: Subscriptions) -> None:
    recorder, subscriber = Recorder(), unique_subscriber()
    subscriptions.add(OrderFilled, recorder, subscriber)
    build_consumer(subscriber).setup()
    fills = [OrderFilled(order_id=f"o-{i}") for i in range(3)]
    for fill in fills:
        publish(fill)
    call_command("consume_events", "--once", "--subscriber", subscriber)
    assert recorder.seen == fills


def test_consumer_threads_run_until_stopped(
    redis_bus: redis.Redis, subscriptions: Subscriptions
) -> None:
    recorder, ticks, subscriber = Recorder(), Recorder(), unique_subscriber()
    subscriptions.add(OrderFilled, recorder, subscriber)
    subscriptions.add(TickReceived, ticks, unique_subscriber())
    build_consumer(subscriber).setup()
    stop = threading.Event()
    threads = consuming.start(stop, subscribers=[subscriber], timeout=0.05)
    try:
        fill = OrderFilled(order_id="o-1")
        publish(fill)
        deadline = time.monotonic() + 10
        while recorder.seen != [fill] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert recorder.seen == [fill]
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert [thread.is_alive() for thread in threads] == [False, False]  # consumer + listener


def test_transient_events_go_over_pubsub(
    redis_bus: redis.Redis, subscriptions: Subscriptions
) -> None:
    ticks = Recorder()
    subscriptions.add(TickReceived, ticks, unique_subscriber())
    from dsta.kernel.bus import registry

    listener = get_broker_transport().transient_listener(registry.subscriptions())
    try:
        tick = TickReceived(price=42.0)
        publish(tick)
        assert listener.poll_once(timeout=2) == 1
        assert ticks.seen == [tick]
        assert not OutboxMessage.objects.exists()
    finally:
        listener.close()


def test_unreachable_redis_leaves_the_row_for_a_retry(
    settings: Any, subscriptions: Subscriptions, bus_namespace: str
) -> None:
    settings.BUS_KIND = "redis"
    settings.BUS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    fill = OrderFilled(order_id="o-1")
    publish(fill)
    row = OutboxMessage.objects.get(event_id=fill.id)
    assert (row.state, row.attempts) == (State.PENDING, 1)
    assert "ConnectionError" in row.last_error
