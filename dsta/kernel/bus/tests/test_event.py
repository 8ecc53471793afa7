"""Event classes: naming and version rules, defaults, immutability, the wire form."""

import subprocess
import sys
from datetime import UTC
from pathlib import Path
from typing import ClassVar
from uuid import UUID

import pytest
from pydantic import ValidationError

from dsta.kernel.bus import Event, event_type, event_types, registry, subscribe
from dsta.kernel.bus.envelope import Envelope
from dsta.kernel.bus.tests.sample_events import OrderFilled, TickReceived


def test_concrete_event_has_metadata_and_defaults() -> None:
    fill = OrderFilled(order_id="o-1")
    assert isinstance(fill.id, UUID)
    assert fill.occurred_at.tzinfo is UTC
    assert (fill.name, OrderFilled.major(), fill.minor, fill.durable) == (
        "dsta.bustest.order.filled.v1",
        1,
        2,
        True,
    )
    assert TickReceived.durable is False
    assert OrderFilled(order_id="o-1").id != fill.id
    assert event_type("dsta.bustest.order.filled.v1") is OrderFilled
    assert OrderFilled in event_types()


def test_events_are_frozen() -> None:
    fill = OrderFilled(order_id="o-1")
    with pytest.raises(ValidationError):
        fill.order_id = "o-2"  # type: ignore[misc]


@pytest.mark.parametrize(
    "name",
    [
        "trading.order.filled.v1",  # no dsta prefix
        "dsta.trading.order.filled",  # no major
        "dsta.trading.order.filled.v0",  # majors start at 1
        "dsta.trading.filled.v1",  # subject missing
        "dsta.Trading.order.filled.v1",  # uppercase
        "dsta.trading.order.filled.extra.v1",
    ],
)
def test_bad_names_are_refused_at_class_creation(name: str) -> None:
    with pytest.raises(TypeError, match="must look like"):
        type("Bad", (Event,), {"name": name, "__annotations__": {"name": ClassVar[str]}})


def test_bad_minor_and_reserved_fields_are_refused() -> None:
    with pytest.raises(TypeError, match="minor"):

        class NegativeMinor(Event):
            name: ClassVar[str] = "dsta.bustest.minor.negative.v1"
            minor: ClassVar[int] = -1

    with pytest.raises(TypeError, match="reserved"), pytest.warns(UserWarning, match="shadows"):

        class Shadowing(Event):
            durable: bool  # type: ignore[misc]


def test_a_name_belongs_to_one_class() -> None:
    with pytest.raises(TypeError, match="already used"):

        class Impostor(Event):
            name: ClassVar[str] = "dsta.bustest.order.filled.v1"


def test_abstract_bases_are_not_events() -> None:
    class TradingEvent(Event):
        """A shared base with no name."""

        account_id: str

    assert not TradingEvent.is_concrete()
    assert TradingEvent not in event_types()
    with pytest.raises(TypeError, match="abstract"):
        subscribe(TradingEvent, lambda event: None, subscriber="bustest.abstract")


def test_older_minor_reader_accepts_newer_payload() -> None:
    payload = OrderFilled(order_id="o-1").model_dump(mode="json") | {"added_in_minor_3": "x"}
    assert OrderFilled.model_validate(payload).order_id == "o-1"


def test_envelope_round_trip() -> None:
    fill = OrderFilled(order_id="o-1", quantity=2.5)
    envelope = Envelope.from_json(Envelope.from_event(fill).to_json())
    assert envelope.decode() == fill
    assert (envelope.name, envelope.minor, envelope.event_id) == (fill.name, 2, fill.id)


@pytest.mark.parametrize("subscriber", ["", "Trading.x", "trading x", "x" * 151, "1abc"])
def test_subscriber_names_are_validated(subscriber: str) -> None:
    with pytest.raises(ValueError, match="subscriber"):
        subscribe(OrderFilled, lambda event: None, subscriber=subscriber)


def test_one_handler_per_subscriber_and_event() -> None:
    def handler(event: OrderFilled) -> None: ...

    try:
        subscribe(OrderFilled, handler, subscriber="bustest.twice")
        subscribe(OrderFilled, handler, subscriber="bustest.twice")  # same: a no-op
        with pytest.raises(ValueError, match="already has a handler"):
            subscribe(OrderFilled, lambda event: None, subscriber="bustest.twice")
        assert [s.subscriber for s in registry.subscriptions_for(OrderFilled.name)].count(
            "bustest.twice"
        ) == 1
    finally:
        registry.unsubscribe(OrderFilled, subscriber="bustest.twice")


def test_package_import_does_not_load_django() -> None:
    # events.py contracts import Event without a configured Django.
    code = (
        "import sys; import dsta.kernel.bus as bus; "
        "assert bus.Event and bus.publish and bus.subscribe; "
        "loaded = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; "
        "assert not loaded, loaded"
    )
    repo_root = Path(__file__).resolve().parents[4]
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=repo_root, env={"PATH": "/usr/bin:/bin"}
    )
