"""run_relay --once and the in-process guard of consume_events."""

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from dsta.kernel.bus import publish, start_background_relay
from dsta.kernel.bus.models import OutboxMessage
from dsta.kernel.bus.tests.brokers import Recorder
from dsta.kernel.bus.tests.conftest import Subscriptions, unique_subscriber
from dsta.kernel.bus.tests.sample_events import OrderFilled

pytestmark = pytest.mark.django_db(transaction=True)


def test_run_relay_once_delivers_what_is_due(
    subscriptions: Subscriptions, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.BUS_DELIVER_ON_COMMIT = False
    recorder = Recorder()
    subscriptions.add(OrderFilled, recorder, unique_subscriber())
    fills = [OrderFilled(order_id=f"o-{i}") for i in range(3)]
    for fill in fills:
        publish(fill)
    call_command("run_relay", "--once", "--batch-size", "2")
    assert "relayed 3 outbox row(s)" in capsys.readouterr().out
    assert recorder.seen == fills
    assert not OutboxMessage.objects.exclude(state=OutboxMessage.State.DELIVERED).exists()


def test_run_relay_reports_a_bad_import() -> None:
    with pytest.raises(CommandError, match="cannot import"):
        call_command("run_relay", "--once", "--import", "dsta.kernel.bus.no_such_module")


def test_consume_events_needs_a_broker(settings: Any) -> None:
    settings.BUS_URL = ""
    settings.BUS_KIND = "inprocess"
    with pytest.raises(CommandError, match="no consumers"):
        call_command("consume_events", "--once")


def test_background_relay_thread_delivers(subscriptions: Subscriptions, settings: Any) -> None:
    settings.BUS_DELIVER_ON_COMMIT = False
    recorder = Recorder()
    subscriptions.add(OrderFilled, recorder, unique_subscriber())
    relay = start_background_relay(interval=0.01)
    try:
        fill = OrderFilled(order_id="o-1")
        publish(fill)
        assert _eventually(lambda: recorder.seen == [fill])
    finally:
        relay.stop()
    assert not relay.is_alive()


def _eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
