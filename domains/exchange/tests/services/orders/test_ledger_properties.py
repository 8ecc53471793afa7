"""Invariants of the ledger under any order of a venue's reports, repeats included.

An order's true history is drawn (optional trigger wait, open, fills, maybe a final status);
the venue reports its snapshots and fills in a random order, some twice, some lossy (a cancel
answer that omits the fills, as HTX's does). After every report: the status never moves back
and a final one sticks, ``filled`` never decreases, ``record_ack``/``record_fill`` return True
exactly when an ``OrderUpdated``/``OrderFilled`` went out and the event carries the row's new
state. At the end the row holds the furthest state reported, each fill is recorded and
announced once.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.exchange.api import Fill, Liquidity, OrderAck, OrderSide, OrderStatus, OrderType
from domains.exchange.events import OrderFilled, OrderUpdated
from domains.exchange.models import LiveAccount, LiveFill, LiveOrder
from domains.exchange.services.orders import ledger
from domains.exchange.tests.services.orders.conftest import events, limit_buy

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 1, tzinfo=UTC)
LOTS = 6  # the order's amount, in lots
LOT = Decimal("0.0001")
AMOUNT = LOTS * LOT
PRICE = Decimal("50000")
FINAL = {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED}


@dataclass(frozen=True)
class Snapshot:
    status: OrderStatus
    lots: int  # filled, in lots of 0.0001
    lossy: bool = False  # the answer omits the fills (filled 0, no fee, no average)

    @property
    def filled(self) -> Decimal:
        return Decimal(0) if self.lossy else self.lots * LOT


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Snapshot], int]:
    """The snapshots of one order, in the venue's order, and its number of fills."""
    snapshots = []
    if draw(st.booleans()):
        snapshots.append(Snapshot(OrderStatus.PENDING_TRIGGER, 0))
    snapshots.append(Snapshot(OrderStatus.OPEN, 0))
    fills = draw(st.integers(min_value=0, max_value=LOTS))
    for lots in range(1, fills + 1):
        status = OrderStatus.FILLED if lots == LOTS else OrderStatus.PARTIALLY_FILLED
        snapshots.append(Snapshot(status, lots))
    if fills < LOTS:
        end = draw(st.sampled_from([None, OrderStatus.CANCELED, OrderStatus.EXPIRED]))
        if fills == 0 and draw(st.booleans()):
            end = OrderStatus.REJECTED
        if end is not None:
            snapshots.append(Snapshot(end, fills, lossy=draw(st.booleans())))
    return snapshots, fills


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Snapshot], int, list[tuple[str, int]], bool]:
    snapshots, fills = draw(histories())
    reports = [("ack", i) for i in range(len(snapshots))] + [("fill", i) for i in range(fills)]
    repeats = draw(st.lists(st.sampled_from(reports), max_size=4))
    order = draw(st.permutations(reports + repeats))
    return snapshots, fills, order, draw(st.booleans())


def ack_of(account: LiveAccount, cid: str, vid: str, snap: Snapshot, n: int) -> OrderAck:
    filled = snap.filled
    return OrderAck(
        account_id=account.pk,
        venue="binance",
        symbol="BTC/USDT",
        client_order_id=cid,
        venue_order_id=vid,
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        status=snap.status,
        amount=AMOUNT,
        filled=filled,
        price=PRICE,
        average_price=PRICE - snap.lots if filled else None,
        fee=filled * Decimal("0.001") * PRICE,
        fee_currency="USDT" if filled else None,
        created_at=T0,
        updated_at=T0 + timedelta(seconds=n),
    )


def fill_of(account: LiveAccount, cid: str, vid: str, i: int) -> Fill:
    return Fill(
        fill_id=f"{vid}-{i}",
        account_id=account.pk,
        venue="binance",
        symbol="BTC/USDT",
        client_order_id=None,
        venue_order_id=vid,
        side=OrderSide.BUY,
        price=PRICE - i,
        amount=LOT,
        fee=Decimal("0.005"),
        fee_currency="USDT",
        liquidity=Liquidity.TAKER,
        timestamp=T0 + timedelta(seconds=i),
    )


def rank(status: str) -> int:
    return ledger.rank(status)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenario=scenarios())
def test_any_order_of_reports_ends_in_the_furthest_state_with_one_event_per_change(
    live_account: LiveAccount, scenario: tuple[list[Snapshot], int, list[tuple[str, int]], bool]
) -> None:
    snapshots, fills, reports, with_intent = scenario
    cid, vid = f"dsta{uuid4().hex[:12]}", uuid4().hex[:10]
    if with_intent:
        ledger.record_intent(
            account_id=live_account.pk, request=limit_buy(cid), client_order_id=cid
        )

    seen_final: str | None = None
    previous_rank, previous_filled = 0, Decimal(0)
    for kind, i in reports:
        updates = len(events(OrderUpdated, client_order_id=cid))
        filled_events = len(events(OrderFilled, venue_order_id=vid))
        if kind == "ack":
            changed = ledger.record_ack(ack_of(live_account, cid, vid, snapshots[i], i))
        else:
            changed = ledger.record_fill(fill_of(live_account, cid, vid, i))
        row = LiveOrder.objects.filter(account=live_account, client_order_id=cid).first()
        after_updates = events(OrderUpdated, client_order_id=cid)
        after_fills = events(OrderFilled, venue_order_id=vid)
        if kind == "ack":
            assert len(after_updates) == updates + changed
            assert len(after_fills) == filled_events
            assert row is not None
            if changed:  # the event is the row's new state
                last = after_updates[-1]
                assert (last["status"], Decimal(last["filled"])) == (row.status, row.filled)
        else:
            assert len(after_fills) == filled_events + changed
            # A fill that raises its order's fee (its fills' sum) announces the order too.
            assert len(after_updates) in (updates, updates + 1)
            if row is None:  # a fill before any word about its order (no intent here)
                continue
        assert rank(row.status) >= previous_rank
        assert row.filled >= previous_filled
        if seen_final is not None:
            assert row.status == seen_final
        if row.status in FINAL:
            seen_final = row.status
        previous_rank, previous_filled = rank(row.status), row.filled

    reported = [snapshots[i] for kind, i in reports if kind == "ack"]
    furthest = max(reported, key=lambda s: rank(s.status.value))
    most_filled = max(s.filled for s in reported)
    row = LiveOrder.objects.get(account=live_account, client_order_id=cid)
    assert (row.status, row.filled, row.outcome) == (furthest.status, most_filled, "acknowledged")
    if most_filled:
        assert row.average_price == PRICE - int(most_filled / LOT)
    # The fee: the venue's running fee of the furthest answer, or its fills' sum when more.
    assert row.fee == max(most_filled * Decimal("0.001") * PRICE, fills * Decimal("0.005"))
    # Every fill once, announced once, attached to the order whatever came first.
    recorded = LiveFill.objects.filter(venue_order_id=vid)
    assert sorted(f.fill_id for f in recorded) == sorted(f"{vid}-{i}" for i in range(fills))
    assert all(f.order_id == row.pk for f in recorded)
    announced = [e["fill_id"] for e in events(OrderFilled, venue_order_id=vid)]
    assert sorted(announced) == sorted(f"{vid}-{i}" for i in range(fills))
    # One OrderUpdated per change: never two in a row with the same state.
    states = [
        (e["status"], e["filled"], e["fee"], e["average_price"], e["venue_order_id"], e["reason"])
        for e in events(OrderUpdated, client_order_id=cid)
    ]
    assert all(a != b for a, b in pairwise(states))
