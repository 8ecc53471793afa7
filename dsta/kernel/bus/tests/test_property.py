"""Whatever the interleaving of failures, crashes and redeliveries, each subscriber's
effect of each event happens exactly once."""

import contextlib
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsta.kernel.bus import drain, publish, registry, retry_dead
from dsta.kernel.bus.inbox import handle_once
from dsta.kernel.bus.models import OutboxMessage
from dsta.kernel.bus.tests.conftest import (
    Subscriptions,
    effect_counts,
    record_effect,
    unique_subscriber,
)
from dsta.kernel.bus.tests.sample_events import OrderFilled

SUBSCRIBERS = 3
EVENTS = 4
State = OutboxMessage.State

operation = st.one_of(
    # A relay pass while some subscribers fail.
    st.tuples(st.just("relay"), st.frozensets(st.integers(0, SUBSCRIBERS - 1))),
    # A relay died after delivering but before marking the row: it comes back pending.
    st.tuples(st.just("redeliver"), st.integers(0, EVENTS - 1)),
    # A broker (re)delivers one event to one subscriber, which may fail.
    st.tuples(
        st.just("direct"),
        st.integers(0, EVENTS - 1),
        st.integers(0, SUBSCRIBERS - 1),
        st.booleans(),
    ),
)


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.integers(1, EVENTS), operations=st.lists(operation, max_size=12))
def test_any_interleaving_yields_exactly_once_effects(
    events: int,
    operations: list[tuple[Any, ...]],
    subscriptions: Subscriptions,
    effects_table: str,
    settings: Any,
) -> None:
    settings.BUS_DELIVER_ON_COMMIT = False
    settings.BUS_MAX_ATTEMPTS = 3  # some rows reach the dead-letter state on the way
    failing: set[int] = set()
    names = [unique_subscriber() for _ in range(SUBSCRIBERS)]

    def handler_for(index: int) -> Any:
        def handler(event: OrderFilled) -> None:
            record_effect(names[index], event)  # rolled back below if we fail
            if index in failing:
                raise RuntimeError(f"subscriber {index} is down")

        return handler

    for index, name in enumerate(names):
        subscriptions.add(OrderFilled, handler_for(index), name)
    fills = [OrderFilled(order_id=f"o-{i}") for i in range(events)]
    for fill in fills:
        publish(fill)

    clock = timezone.now()
    for op in operations:
        clock += timedelta(days=1)  # past every backoff and lease
        if op[0] == "relay":
            failing.clear()
            failing.update(op[1])
            drain(now=clock)
        elif op[0] == "redeliver":
            fill = fills[op[1] % events]
            OutboxMessage.objects.filter(event_id=fill.id).update(
                state=State.PENDING, next_attempt_at=clock
            )
        else:
            _, event_index, subscriber_index, fails = op
            failing.clear()
            if fails:
                failing.add(subscriber_index)
            subscription = next(
                s
                for s in registry.subscriptions_for(OrderFilled.name)
                if s.subscriber == names[subscriber_index]
            )
            # A failure is retried by the final pass, like any failed delivery.
            with contextlib.suppress(RuntimeError):
                handle_once(subscription, fills[event_index % events])

    failing.clear()
    retry_dead()
    drain(now=clock + timedelta(days=1))

    counts = effect_counts()
    assert {
        (name, str(fill.id)): counts.get((name, str(fill.id)), 0)
        for name in names
        for fill in fills
    } == {(name, str(fill.id)): 1 for name in names for fill in fills}
    assert set(
        OutboxMessage.objects.filter(event_id__in=[f.id for f in fills]).values_list(
            "state", flat=True
        )
    ) == {State.DELIVERED}
    subscriptions.clear()
