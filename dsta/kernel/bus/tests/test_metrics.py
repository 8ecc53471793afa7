"""Counters move with the work; the outbox gauges are read from the database at scrape time."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from dsta.kernel.bus import drain, publish
from dsta.kernel.bus.models import OutboxMessage
from dsta.kernel.bus.tests.brokers import Recorder
from dsta.kernel.bus.tests.conftest import Subscriptions, unique_subscriber
from dsta.kernel.bus.tests.sample_events import OrderFilled, TickReceived

pytestmark = pytest.mark.django_db(transaction=True)


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_counters_follow_publish_delivery_and_failures(
    subscriptions: Subscriptions, settings: Any
) -> None:
    settings.BUS_MAX_ATTEMPTS = 1
    ok, failing = Recorder(), Recorder(failures=1)
    ok_name, failing_name = unique_subscriber(), unique_subscriber()
    subscriptions.add(OrderFilled, ok, ok_name)
    subscriptions.add(OrderFilled, failing, failing_name)
    name = OrderFilled.name
    before = {
        "durable": _value("dsta_bus_events_published_total", event=name, durability="durable"),
        "transient": _value(
            "dsta_bus_events_published_total", event=TickReceived.name, durability="transient"
        ),
        "dead": _value("dsta_bus_events_dead_lettered_total", event=name),
        "failed": _value("dsta_bus_handler_failures_total", event=name, subscriber=failing_name),
    }
    publish(OrderFilled(order_id="o-1"))
    publish(TickReceived(price=1.0))
    assert _value("dsta_bus_events_published_total", event=name, durability="durable") == (
        before["durable"] + 1
    )
    assert _value(
        "dsta_bus_events_published_total", event=TickReceived.name, durability="transient"
    ) == (before["transient"] + 1)
    assert _value("dsta_bus_events_delivered_total", event=name, subscriber=ok_name) == 1
    assert _value("dsta_bus_handler_failures_total", event=name, subscriber=failing_name) == (
        before["failed"] + 1
    )
    assert _value("dsta_bus_events_dead_lettered_total", event=name) == before["dead"] + 1


def test_outbox_backlog_is_computed_at_scrape_time(settings: Any) -> None:
    settings.BUS_DELIVER_ON_COMMIT = False
    assert _value("dsta_bus_outbox_pending") == 0
    assert _value("dsta_bus_outbox_lag_seconds") == 0
    publish(OrderFilled(order_id="o-1"))
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(seconds=90))
    publish(OrderFilled(order_id="o-2"))
    assert _value("dsta_bus_outbox_pending") == 2
    assert 90 <= _value("dsta_bus_outbox_lag_seconds") < 120
    drain()
    assert _value("dsta_bus_outbox_pending") == 0
    assert _value("dsta_bus_outbox_lag_seconds") == 0
