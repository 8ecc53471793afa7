"""The transactional outbox with real commits: publish, deliver after commit, retry, dedupe."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections, transaction
from django.utils import timezone

from dsta.kernel.bus import drain, publish, relay_once, retry_dead
from dsta.kernel.bus.models import InboxReceipt, OutboxMessage
from dsta.kernel.bus.outbox import prune
from dsta.kernel.bus.tests.conftest import Subscriptions, unique_subscriber
from dsta.kernel.bus.tests.sample_events import OrderFilled, PositionOpened, TickReceived

pytestmark = pytest.mark.django_db(transaction=True)
State = OutboxMessage.State


class Recorder:
    """A handler that remembers each event it handled; fails while ``failing`` is set."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.failing = False

    def __call__(self, event: Any) -> None:
        if self.failing:
            raise RuntimeError("venue unavailable")
        self.seen.append(event)


def _two_recorders(subscriptions: Subscriptions) -> tuple[Recorder, Recorder, str, str]:
    first, second = Recorder(), Recorder()
    first_name, second_name = unique_subscriber(), unique_subscriber()
    subscriptions.add(OrderFilled, first, first_name)
    subscriptions.add(OrderFilled, second, second_name)
    return first, second, first_name, second_name


def test_rolled_back_transaction_publishes_nothing(subscriptions: Subscriptions) -> None:
    first, second, *_ = _two_recorders(subscriptions)

    def place_order_then_fail() -> None:
        with transaction.atomic():
            publish(OrderFilled(order_id="o-1"))
            raise RuntimeError("the order was not saved after all")

    with pytest.raises(RuntimeError):
        place_order_then_fail()
    assert drain() == 0
    assert not OutboxMessage.objects.exists()
    assert first.seen == second.seen == []


def test_committed_event_reaches_each_subscriber_once(subscriptions: Subscriptions) -> None:
    first, second, first_name, second_name = _two_recorders(subscriptions)
    fill = OrderFilled(order_id="o-1")
    with transaction.atomic():
        publish(fill)
        assert first.seen == []  # nothing before the commit
    # Embedded mode: delivered right after the commit, in this thread.
    assert first.seen == second.seen == [fill]
    row = OutboxMessage.objects.get(event_id=fill.id)
    assert (row.state, row.attempts, row.name, row.minor) == (State.DELIVERED, 1, fill.name, 2)
    assert set(InboxReceipt.objects.values_list("subscriber", flat=True)) == {
        first_name,
        second_name,
    }
    assert drain() == 0
    assert len(first.seen) == len(second.seen) == 1


def test_redelivery_is_a_no_op_thanks_to_the_inbox(subscriptions: Subscriptions) -> None:
    first, second, *_ = _two_recorders(subscriptions)
    fill = OrderFilled(order_id="o-1")
    publish(fill)  # autocommit: delivered at once
    assert first.seen == [fill]
    # As if the relay died after the handlers ran but before marking the row delivered.
    OutboxMessage.objects.filter(event_id=fill.id).update(
        state=State.PENDING, next_attempt_at=timezone.now()
    )
    assert drain() == 1
    assert first.seen == second.seen == [fill]
    assert OutboxMessage.objects.get(event_id=fill.id).state == State.DELIVERED


def test_failing_subscriber_is_retried_alone_with_backoff(
    subscriptions: Subscriptions, settings: Any
) -> None:
    settings.BUS_RETRY_BASE_SECONDS = 10
    first, second, _, second_name = _two_recorders(subscriptions)
    second.failing = True
    fill = OrderFilled(order_id="o-1")
    before = timezone.now()
    publish(fill)
    row = OutboxMessage.objects.get(event_id=fill.id)
    assert (row.state, row.attempts) == (State.PENDING, 1)
    assert "venue unavailable" in row.last_error
    assert second_name in row.last_error
    assert row.next_attempt_at >= before + timedelta(seconds=10)
    assert first.seen == [fill]
    assert second.seen == []

    assert drain() == 0  # not due yet
    second.failing = False
    assert drain(now=timezone.now() + timedelta(seconds=11)) == 1
    assert first.seen == second.seen == [fill]  # the first subscriber was not run again
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (State.DELIVERED, 2, "")


def test_dead_letter_after_max_attempts_and_retry(
    subscriptions: Subscriptions, settings: Any
) -> None:
    settings.BUS_MAX_ATTEMPTS = 3
    recorder = Recorder()
    recorder.failing = True
    subscriptions.add(OrderFilled, recorder, unique_subscriber())
    fill = OrderFilled(order_id="o-1")
    publish(fill)
    later = timezone.now()
    for _ in range(3):
        later += timedelta(hours=1)
        drain(now=later)
    row = OutboxMessage.objects.get(event_id=fill.id)
    assert (row.state, row.attempts) == (State.DEAD, 3)
    assert drain(now=later + timedelta(days=1)) == 0  # dead letters stay put

    recorder.failing = False
    assert retry_dead() == 1
    assert drain() == 1
    assert recorder.seen == [fill]
    assert OutboxMessage.objects.get(event_id=fill.id).state == State.DELIVERED


def test_without_deliver_on_commit_the_relay_delivers(
    subscriptions: Subscriptions, settings: Any
) -> None:
    settings.BUS_DELIVER_ON_COMMIT = False
    recorder = Recorder()
    subscriptions.add(OrderFilled, recorder, unique_subscriber())
    fills = [OrderFilled(order_id=f"o-{i}") for i in range(5)]
    with transaction.atomic():
        for fill in fills:
            publish(fill)
    assert recorder.seen == []
    assert relay_once(limit=2) == 2
    assert drain() == 3
    assert recorder.seen == fills  # oldest first


def test_publishing_the_same_event_twice_stores_it_once(subscriptions: Subscriptions) -> None:
    recorder = Recorder()
    subscriptions.add(OrderFilled, recorder, unique_subscriber())
    fill = OrderFilled(order_id="o-1")
    with transaction.atomic():
        publish(fill)
        publish(fill)
    assert OutboxMessage.objects.count() == 1
    assert recorder.seen == [fill]


def test_handlers_can_publish_and_the_chain_is_delivered(subscriptions: Subscriptions) -> None:
    opened = Recorder()

    def open_position(event: OrderFilled) -> None:
        publish(PositionOpened(order_id=event.order_id))

    subscriptions.add(OrderFilled, open_position, unique_subscriber())
    subscriptions.add(PositionOpened, opened, unique_subscriber())
    publish(OrderFilled(order_id="o-7"))
    assert [event.order_id for event in opened.seen] == ["o-7"]
    assert OutboxMessage.objects.filter(state=State.DELIVERED).count() == 2


def test_failed_handler_rolls_back_its_own_publishes(subscriptions: Subscriptions) -> None:
    opened = Recorder()

    def open_then_fail(event: OrderFilled) -> None:
        publish(PositionOpened(order_id=event.order_id))
        raise RuntimeError("after publishing")

    subscriptions.add(OrderFilled, open_then_fail, unique_subscriber())
    subscriptions.add(PositionOpened, opened, unique_subscriber())
    publish(OrderFilled(order_id="o-8"))
    assert opened.seen == []
    assert not OutboxMessage.objects.filter(name=PositionOpened.name).exists()


def test_transient_events_skip_the_outbox(subscriptions: Subscriptions) -> None:
    ticks, broken = Recorder(), Recorder()
    broken.failing = True
    subscriptions.add(TickReceived, broken, unique_subscriber())
    subscriptions.add(TickReceived, ticks, unique_subscriber())
    tick = TickReceived(price=101.5)

    def tick_then_roll_back() -> None:
        with transaction.atomic():
            publish(tick)  # delivered now, whatever the transaction does
            assert ticks.seen == [tick]
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        tick_then_roll_back()
    assert ticks.seen == [tick]  # a failing transient handler does not stop the others
    assert not OutboxMessage.objects.exists()
    assert not InboxReceipt.objects.exists()


def test_publish_refuses_abstract_events() -> None:
    with pytest.raises(TypeError, match="concrete Event"):
        publish("not an event")  # type: ignore[arg-type]


def test_claimed_rows_wait_for_their_lease(subscriptions: Subscriptions, settings: Any) -> None:
    settings.BUS_DELIVER_ON_COMMIT = False
    recorder = Recorder()
    subscriptions.add(OrderFilled, recorder, unique_subscriber())
    publish(OrderFilled(order_id="o-1"))
    from dsta.kernel.bus.outbox import claim

    now = timezone.now()
    claimed = claim(now=now, limit=10, lease=timedelta(seconds=30))
    assert len(claimed) == 1
    # The claiming relay "dies" here. Nobody else may take the row before the lease ends...
    assert relay_once(now=now + timedelta(seconds=29)) == 0
    # ...and after it, any relay takes over.
    assert relay_once(now=now + timedelta(seconds=31)) == 1
    assert len(recorder.seen) == 1
    assert OutboxMessage.objects.get().attempts == 2


def test_concurrent_relays_never_share_a_row(subscriptions: Subscriptions, settings: Any) -> None:
    settings.BUS_DELIVER_ON_COMMIT = False
    settings.BUS_RELAY_BATCH_SIZE = 5
    recorder = Recorder()
    subscriptions.add(OrderFilled, recorder, unique_subscriber())
    with transaction.atomic():
        for i in range(60):
            publish(OrderFilled(order_id=f"o-{i}"))
    processed: list[int] = []

    def relay_thread() -> None:
        try:
            processed.append(drain())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=relay_thread) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # Each row was claimed by exactly one relay (SKIP LOCKED on PostgreSQL).
    assert sum(processed) == 60
    assert sorted(event.order_id for event in recorder.seen) == sorted(f"o-{i}" for i in range(60))
    assert OutboxMessage.objects.filter(state=State.DELIVERED).count() == 60


def test_prune_keeps_pending_rows_and_recent_receipts(subscriptions: Subscriptions) -> None:
    subscriptions.add(OrderFilled, Recorder(), unique_subscriber())
    publish(OrderFilled(order_id="old"))
    with transaction.atomic():
        OutboxMessage.objects.update(delivered_at=timezone.now() - timedelta(days=30))
        InboxReceipt.objects.update(handled_at=timezone.now() - timedelta(days=30))
    publish(OrderFilled(order_id="recent"))
    OutboxMessage.objects.create(
        event_id=OrderFilled(order_id="p").id,
        name=OrderFilled.name,
        payload={},
        occurred_at=timezone.now(),
        created_at=timezone.now() - timedelta(days=30),
    )
    assert prune(older_than=timezone.now() - timedelta(days=7)) == (1, 1)
    assert OutboxMessage.objects.count() == 2
    assert InboxReceipt.objects.count() == 1
