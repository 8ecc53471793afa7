"""The order reconciler against a simulated Binance, through ccxt and the resilient gateway.

Each test places through the application's gateway, so the ledger sees what it would in
production: the intent before the POST, then the answer or an unknown outcome. Faults are
injected at the transport (``FakeVenue.fail_next``); the venue keeps its own books
(``BinanceSim``), so "exactly one order at the venue" is counted there.
"""

import threading
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from domains.exchange.api import (
    BelowMinimum,
    InsufficientFunds,
    OrderStatus,
    VenueUnavailable,
)
from domains.exchange.events import OrderFilled, OrderUpdated
from domains.exchange.models import LiveFill, LiveOrder, LiveOrderOutcome
from domains.exchange.services.orders import ledger
from domains.exchange.services.orders.reconciler import ReconcileReport
from domains.exchange.services.resilience.breaker import BreakerState
from domains.exchange.tests.fake_binance import Fault
from domains.exchange.tests.fake_venue import CONNECT_TIMEOUT, CONNECTION_REFUSED, READ_TIMEOUT
from domains.exchange.tests.services.orders.conftest import (
    ORDER,
    LedgerRig,
    events,
    limit_buy,
)

pytestmark = pytest.mark.django_db

Outcome = LiveOrderOutcome
COOLDOWN = 21  # seconds: past the rig's breaker cool-down (20 s)


def place_with_unknown_outcome(rig: LedgerRig, *, arrives: bool) -> str:
    """A placement whose answer is lost (``arrives``: the venue recorded it) and whose
    lookups cannot reach the venue: the gateway raises ``outcome = unknown``."""
    request = limit_buy()
    first = READ_TIMEOUT if arrives else CONNECT_TIMEOUT
    # The send and two lookups fail; that is the rig's breaker threshold (3): the breaker
    # opens and the third lookup is not even sent.
    rig.venue.fake.fail_next(first, CONNECT_TIMEOUT, CONNECT_TIMEOUT)
    with pytest.raises(VenueUnavailable) as caught:
        rig.place(request)
    assert caught.value.details["outcome"] == "unknown"
    assert request.client_order_id is not None
    row = LiveOrder.objects.get(client_order_id=request.client_order_id)
    assert (row.outcome, row.status) == (Outcome.UNKNOWN, "")
    assert rig.venue.runtime.venue("binance").breaker.state() is BreakerState.OPEN
    rig.venue.clock.advance(COOLDOWN)
    return request.client_order_id


def test_an_order_lost_in_a_timeout_is_found_by_the_reconciler_and_announced_once(
    ledger_rig: LedgerRig,
):
    cid = place_with_unknown_outcome(ledger_rig, arrives=True)
    assert ledger_rig.sim.order_posts == [cid]  # the venue has it; we never heard
    assert events(OrderUpdated, client_order_id=cid) == []

    report = ledger_rig.reconcile()

    assert [(o.client_order_id, o.result, o.status) for o in report.orders] == [
        (cid, "resolved", "open")
    ]
    row = LiveOrder.objects.get(client_order_id=cid)
    assert (row.outcome, row.status) == (Outcome.ACKNOWLEDGED, OrderStatus.OPEN)
    assert row.venue_order_id == str(ledger_rig.sim.orders[cid]["orderId"])
    assert [e["status"] for e in events(OrderUpdated, client_order_id=cid)] == ["open"]
    # Later runs (the order is working: re-checked once quiet for a while) change nothing.
    again = ledger_rig.reconcile(after=timedelta(minutes=30))
    assert [o.result for o in again.orders] == ["unchanged"]
    assert len(events(OrderUpdated, client_order_id=cid)) == 1
    assert ledger_rig.sim.order_posts == [cid]  # exactly one order at the venue
    assert [m for m, _ in ledger_rig.order_requests()].count("POST") == 1


def test_an_order_that_never_arrived_is_rejected_only_after_enough_lookups_and_age(
    ledger_rig: LedgerRig,
):
    young = place_with_unknown_outcome(ledger_rig, arrives=False)
    assert ledger_rig.sim.order_posts == []
    settings = ledger_rig.settings
    assert (settings.lookups, settings.min_age) == (3, timedelta(minutes=5))

    # Many "not found" answers soon after the placement prove nothing: venues lag.
    for expected in (1, 2, 3, 4):
        report = ledger_rig.reconcile(after=timedelta(minutes=1))
        assert [(o.result, o.outcome) for o in report.orders] == [("not_found_yet", "unknown")]
        assert LiveOrder.objects.get(client_order_id=young).lookup_attempts == expected
    assert events(OrderUpdated, client_order_id=young) == []

    # Old enough now: the next "not found" settles it.
    report = ledger_rig.reconcile(after=timedelta(minutes=6))
    assert [(o.result, o.status) for o in report.orders] == [("rejected", "rejected")]
    row = LiveOrder.objects.get(client_order_id=young)
    assert (row.status, row.outcome) == (OrderStatus.REJECTED, Outcome.NOT_FOUND)
    assert row.reason.startswith("never reached binance: not found by 5 lookups")
    [announced] = events(OrderUpdated, client_order_id=young)
    assert (announced["status"], announced["reason"]) == ("rejected", row.reason)
    assert ledger_rig.reconcile(after=timedelta(minutes=30)).orders == ()  # settled
    assert ledger_rig.sim.order_posts == []  # and never sent again


def test_age_alone_is_not_enough_either(ledger_rig: LedgerRig):
    cid = place_with_unknown_outcome(ledger_rig, arrives=False)
    for expected in (1, 2):
        report = ledger_rig.reconcile(after=timedelta(hours=1))
        assert [o.result for o in report.orders] == ["not_found_yet"]
        assert LiveOrder.objects.get(client_order_id=cid).lookup_attempts == expected
    assert [o.result for o in ledger_rig.reconcile(after=timedelta(hours=1)).orders] == ["rejected"]


def test_while_the_venue_is_down_the_order_stays_unknown_and_no_lookup_counts(
    ledger_rig: LedgerRig,
):
    cid = place_with_unknown_outcome(ledger_rig, arrives=True)
    # The breaker is half-open after its cool-down: one probe, refused, opens it again.
    ledger_rig.venue.fake.fail_next(CONNECTION_REFUSED)

    down = ledger_rig.reconcile(after=timedelta(hours=1))

    assert down.venue_failures == 1
    assert [o.result for o in down.orders] == ["venue_unavailable"]
    assert "venue_unavailable" in down.errors[0]
    row = LiveOrder.objects.get(client_order_id=cid)
    assert (row.outcome, row.lookup_attempts, row.claimed_until) == (Outcome.UNKNOWN, 0, None)
    # The breaker is open now: the next run sends nothing and counts nothing either.
    assert ledger_rig.venue.runtime.venue("binance").breaker.state() is BreakerState.OPEN
    sent = len(ledger_rig.venue.fake.requests)
    refused = ledger_rig.reconcile(after=timedelta(hours=2))
    assert refused.venue_failures == 1
    assert len(ledger_rig.venue.fake.requests) == sent
    assert LiveOrder.objects.get(client_order_id=cid).lookup_attempts == 0
    # Back up: found, not declared missing.
    ledger_rig.venue.clock.advance(COOLDOWN)
    assert [o.result for o in ledger_rig.reconcile(after=timedelta(hours=3)).orders] == ["resolved"]


def test_fills_are_recorded_once_however_often_they_are_reported(ledger_rig: LedgerRig):
    ack = ledger_rig.place(limit_buy(amount="0.001"))
    cid = ack.client_order_id
    first = ledger_rig.sim.fill(cid, "0.0004", commission="0.02")

    partly = ledger_rig.reconcile(after=timedelta(minutes=10))  # quiet working order

    assert [(o.result, o.status, o.fills) for o in partly.orders] == [
        ("updated", "partially_filled", 1)
    ]
    second = ledger_rig.sim.fill(cid, "0.0006", "49990.00", commission="0.03")
    done = ledger_rig.reconcile(after=timedelta(minutes=20))
    # myTrades answered both fills: only the new one is recorded.
    assert [(o.result, o.status, o.fills) for o in done.orders] == [("updated", "filled", 1)]

    filled = events(OrderFilled, client_order_id=cid)
    assert [(e["fill_id"], e["amount"], e["owner_id"]) for e in filled] == [
        (str(first["id"]), "0.0004", 4242),
        (str(second["id"]), "0.0006", 4242),
    ]
    assert (filled[1]["price"], filled[1]["fee"], filled[1]["side"]) == ("49990", "0.03", "buy")
    row = LiveOrder.objects.get(client_order_id=cid)
    assert (row.status, row.filled) == ("filled", Decimal("0.001"))
    assert [f.fill_id for f in LiveFill.objects.filter(order=row)] == [
        str(first["id"]),
        str(second["id"]),
    ]
    # Binance's order answers carry no fee: each recorded fill raises the order's to their sum.
    updates = [(e["status"], e["fee"]) for e in events(OrderUpdated, client_order_id=cid)]
    assert updates == [
        ("open", "0"),
        ("partially_filled", "0"),
        ("partially_filled", "0.02"),
        ("filled", "0.02"),
        ("filled", "0.05"),
    ]
    assert (row.fee, row.fee_currency) == (Decimal("0.05"), "USDT")
    # A final order is not looked at again; its fills stay recorded once.
    assert ledger_rig.reconcile(after=timedelta(hours=1)).orders == ()
    assert LiveFill.objects.filter(order=row).count() == 2


def test_an_order_claimed_by_another_run_is_left_to_it(ledger_rig: LedgerRig):
    cid = place_with_unknown_outcome(ledger_rig, arrives=True)
    from django.utils import timezone

    LiveOrder.objects.filter(client_order_id=cid).update(
        claimed_until=timezone.now() + timedelta(minutes=5)
    )
    sent = len(ledger_rig.venue.fake.requests)

    assert ledger_rig.reconcile(after=timedelta(minutes=1)).orders == ()
    assert len(ledger_rig.venue.fake.requests) == sent  # nobody asked the venue twice
    # A claim outlives its run only until it expires (a run killed mid-way).
    report = ledger_rig.reconcile(after=timedelta(minutes=6))
    assert [o.result for o in report.orders] == ["resolved"]
    assert LiveOrder.objects.get(client_order_id=cid).claimed_until is None


# --- what a placement leaves in the ledger -----------------------------------------------------


def test_a_placed_order_is_recorded_before_the_request_and_announced_once(ledger_rig: LedgerRig):
    ack = ledger_rig.place(limit_buy())

    row = LiveOrder.objects.get(client_order_id=ack.client_order_id)
    assert (row.outcome, row.status, row.venue_order_id) == (
        Outcome.ACKNOWLEDGED,
        "open",
        ack.venue_order_id,
    )
    assert (row.amount, row.price, row.side, row.type) == (
        Decimal("0.001"),
        Decimal("50000"),
        "buy",
        "limit",
    )
    # A lookup and a listing of the same state add nothing; the cancel does.
    ledger_rig.gateway.get_order(
        account_id=ledger_rig.account.pk, symbol="BTC/USDT", client_order_id=ack.client_order_id
    )
    ledger_rig.gateway.open_orders(account_id=ledger_rig.account.pk, symbol="BTC/USDT")
    ledger_rig.gateway.cancel_order(
        account_id=ledger_rig.account.pk, symbol="BTC/USDT", client_order_id=ack.client_order_id
    )
    statuses = [e["status"] for e in events(OrderUpdated, client_order_id=ack.client_order_id)]
    assert statuses == ["open", "canceled"]


def test_a_refused_order_is_rejected_with_the_venues_reason(ledger_rig: LedgerRig):
    body = '{"code":-2010,"msg":"Account has insufficient balance for requested action."}'
    ledger_rig.sim.fail("POST", ORDER, Fault("status", 400, body=body))
    request = limit_buy()

    with pytest.raises(InsufficientFunds):
        ledger_rig.place(request)

    row = LiveOrder.objects.get(client_order_id=request.client_order_id)
    assert (row.status, row.outcome) == (OrderStatus.REJECTED, Outcome.REFUSED)
    assert row.reason.startswith("insufficient_funds:")
    [announced] = events(OrderUpdated, client_order_id=request.client_order_id)
    assert announced["status"] == "rejected"
    assert ledger_rig.reconcile(after=timedelta(hours=1)).orders == ()  # nothing to resolve


def test_an_order_refused_by_our_own_checks_leaves_no_trace(ledger_rig: LedgerRig):
    with pytest.raises(BelowMinimum):
        ledger_rig.place(limit_buy(amount="0.00001"))
    assert not LiveOrder.objects.exists()
    assert ledger_rig.order_requests() == []


def test_an_order_held_back_before_sending_is_refused_as_never_sent(ledger_rig: LedgerRig):
    # Switched off by an admin: the market rules (cached) pass, the POST is stopped at our
    # side of the wire.
    ledger_rig.venue.configure(enabled=False)
    request = limit_buy()

    with pytest.raises(VenueUnavailable) as caught:
        ledger_rig.place(request)

    assert caught.value.details["disabled"] is True
    assert ledger_rig.order_requests() == []
    row = LiveOrder.objects.get(client_order_id=request.client_order_id)
    assert (row.status, row.outcome) == (OrderStatus.REJECTED, Outcome.REFUSED)
    assert row.reason.startswith("not sent: venue_unavailable")


def test_an_open_breaker_stops_the_order_before_it_is_recorded(ledger_rig: LedgerRig):
    breaker = ledger_rig.venue.runtime.venue("binance").breaker
    for _ in range(3):
        breaker.record_failure("test: venue down")

    with pytest.raises(VenueUnavailable) as caught:
        ledger_rig.place(limit_buy())

    assert caught.value.details["breaker"] == "open"  # at the market rules' read
    assert not LiveOrder.objects.exists()


def test_a_second_order_with_the_same_client_id_is_refused_before_sending(ledger_rig: LedgerRig):
    ack = ledger_rig.place(limit_buy("dstasameid0001"))
    ledger_rig.gateway.cancel_order(
        account_id=ledger_rig.account.pk, symbol="BTC/USDT", client_order_id=ack.client_order_id
    )
    posts = ledger_rig.order_requests().count(("POST", ORDER))

    from domains.exchange.api import DuplicateOrder

    with pytest.raises(DuplicateOrder):
        ledger_rig.place(limit_buy("dstasameid0001"))
    assert ledger_rig.order_requests().count(("POST", ORDER)) == posts


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_look_each_order_up_once(ledger_rig: LedgerRig):
    placed = [ledger_rig.place(limit_buy()).client_order_id for _ in range(6)]
    # Their answers "lost": the ledger knows the intents only.
    LiveOrder.objects.filter(client_order_id__in=placed).update(
        outcome=Outcome.UNKNOWN, status="", venue_order_id=""
    )
    start = threading.Barrier(2)
    reports: list[ReconcileReport] = []

    def run() -> None:
        try:
            start.wait()
            reports.append(ledger_rig.reconcile())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    resolved = sorted(o.client_order_id for r in reports for o in r.orders)
    assert resolved == sorted(placed)  # each order by exactly one of the runs
    lookups = [
        r.query["origClientOrderId"]
        for r in ledger_rig.venue.fake.requests
        if (r.method, r.path) == ("GET", ORDER)
    ]
    assert sorted(lookups) == sorted(placed)
    assert all(len(events(OrderUpdated, client_order_id=cid)) == 2 for cid in placed)


# --- fills of orders the ledger learnt had ended (review) ----------------------------------------


def test_fills_of_an_order_that_ended_before_the_reconciler_saw_it_working_are_recorded(
    ledger_rig: LedgerRig,
):
    """An order whose end the ledger learnt from a lookup or a cancel answer (or a market
    order answered ``filled`` at once) was never "working" for the reconciler; with no user
    stream running, or its fill frames lost in a drop, its fills must still be recorded."""
    account, symbol = ledger_rig.account.pk, "BTC/USDT"
    filled_cid = ledger_rig.place(limit_buy(amount="0.001")).client_order_id
    trade = ledger_rig.sim.fill(filled_cid, "0.001", commission="0.05")
    ledger_rig.gateway.get_order(account_id=account, symbol=symbol, client_order_id=filled_cid)
    cancelled_cid = ledger_rig.place(limit_buy(amount="0.002")).client_order_id
    partial = ledger_rig.sim.fill(cancelled_cid, "0.0005", commission="0.01")
    ledger_rig.gateway.cancel_order(
        account_id=account, symbol=symbol, client_order_id=cancelled_cid
    )
    untouched_cid = ledger_rig.place(limit_buy()).client_order_id
    ledger_rig.gateway.cancel_order(
        account_id=account, symbol=symbol, client_order_id=untouched_cid
    )
    assert [
        LiveOrder.objects.get(client_order_id=c).status for c in (filled_cid, cancelled_cid)
    ] == [
        "filled",
        "canceled",
    ]
    assert not LiveFill.objects.exists()

    report = ledger_rig.reconcile(after=timedelta(minutes=1))

    assert sorted((o.client_order_id, o.fills) for o in report.orders) == sorted(
        [(filled_cid, 1), (cancelled_cid, 1)]
    )  # the cancelled order without fills costs nothing
    recorded = {f.fill_id: f for f in LiveFill.objects.all()}
    assert set(recorded) == {str(trade["id"]), str(partial["id"])}
    assert recorded[str(trade["id"])].order == LiveOrder.objects.get(client_order_id=filled_cid)
    assert [e["fee"] for e in events(OrderFilled, client_order_id=filled_cid)] == ["0.05"]
    assert len(events(OrderFilled, client_order_id=cancelled_cid)) == 1
    # Looked at once: the next runs ask the venue nothing more about them.
    sent = len(ledger_rig.venue.fake.requests)
    assert ledger_rig.reconcile(after=timedelta(minutes=2)).orders == ()
    assert ledger_rig.reconcile(after=timedelta(hours=2)).orders == ()
    assert len(ledger_rig.venue.fake.requests) == sent


def test_an_ended_order_whose_fills_the_stream_delivered_is_not_asked_about(
    ledger_rig: LedgerRig,
):
    account, symbol = ledger_rig.account.pk, "BTC/USDT"
    cid = ledger_rig.place(limit_buy(amount="0.001")).client_order_id
    ledger_rig.sim.fill(cid, "0.001")
    ledger_rig.gateway.get_order(account_id=account, symbol=symbol, client_order_id=cid)
    [fill] = ledger_rig.gateway.my_trades(account_id=account, symbol=symbol)
    assert ledger.record_fill(replace(fill, client_order_id=cid))
    sent = len(ledger_rig.venue.fake.requests)

    assert ledger_rig.reconcile(after=timedelta(minutes=1)).orders == ()
    assert len(ledger_rig.venue.fake.requests) == sent


def test_binances_duplicate_answer_means_the_order_is_live_never_refused(ledger_rig: LedgerRig):
    """Binance answers -2010 "Duplicate order sent." when the client order id is that of an
    open order (here one whose intent the ledger lost: committed in a caller's transaction
    that rolled back after the send). That order is live: it is fetched and recorded, never
    recorded as refused (a refused row ignores everything the venue says afterwards)."""
    request = limit_buy()
    first = ledger_rig.place(request)
    LiveOrder.objects.all().delete()

    ack = ledger_rig.place(request)

    cid = request.client_order_id
    assert cid is not None
    assert ledger_rig.sim.order_posts == [cid, cid]  # the second was refused as a duplicate
    assert len(ledger_rig.sim.orders) == 1
    assert (ack.venue_order_id, ack.status) == (first.venue_order_id, OrderStatus.OPEN)
    row = LiveOrder.objects.get(client_order_id=cid)
    assert (row.outcome, row.status) == (Outcome.ACKNOWLEDGED, "open")
    # Its fills are followed like any order's.
    ledger_rig.sim.fill(cid, "0.001")
    report = ledger_rig.reconcile(after=timedelta(minutes=10))
    assert [(o.status, o.fills) for o in report.orders] == [("filled", 1)]


def test_an_order_the_venue_no_longer_finds_by_client_id_is_looked_up_by_its_own_id(
    ledger_rig: LedgerRig,
):
    """Gate.io finds an order by its client id only while open and about a minute after it
    ends; once we know the venue's id, the reconciler asks by that one."""
    cid = ledger_rig.place(limit_buy(amount="0.001")).client_order_id
    row = LiveOrder.objects.get(client_order_id=cid)
    assert row.venue_order_id  # the placement answer named it
    trade = ledger_rig.sim.fill(cid, "0.001", commission="0.05")
    ledger_rig.sim.forgotten_client_ids.add(cid)

    report = ledger_rig.reconcile(after=timedelta(hours=1))

    [reconciled] = report.orders
    assert (reconciled.client_order_id, reconciled.fills) == (cid, 1)
    row.refresh_from_db()
    assert (row.status, row.filled) == ("filled", Decimal("0.001"))
    lookups = [
        r.query
        for r in ledger_rig.venue.fake.requests
        if r.path == "/api/v3/order" and r.method == "GET"
    ]
    assert lookups
    assert lookups[-1].get("orderId") == row.venue_order_id
    assert "origClientOrderId" not in lookups[-1]
    assert [f.fill_id for f in LiveFill.objects.filter(order=row)] == [str(trade["id"])]
