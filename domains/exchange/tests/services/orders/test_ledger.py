"""The ledger on its own: what a venue's answers, in any order and any number, do to a live
order, and when events go out. (The user-data streams call these functions directly.)"""

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.db import connection, transaction

from domains.exchange.api import (
    DuplicateOrder,
    Fill,
    Liquidity,
    OrderAck,
    OrderSide,
    OrderStatus,
    OrderType,
    UnknownAccount,
)
from domains.exchange.events import OrderFilled, OrderUpdated
from domains.exchange.models import LiveAccount, LiveFill, LiveOrder, LiveOrderOutcome
from domains.exchange.services.orders import ledger
from domains.exchange.tests.services.orders.conftest import events, limit_buy

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)
Outcome = LiveOrderOutcome


def ack_of(
    account: LiveAccount,
    client_order_id: str,
    status: OrderStatus,
    filled: str = "0",
    *,
    at: int = 0,
    venue_order_id: str | None = "881",
    **changes: object,
) -> OrderAck:
    filled_amount = Decimal(filled)
    ack = OrderAck(
        account_id=account.pk,
        venue="binance",
        symbol="BTC/USDT",
        client_order_id=client_order_id,
        venue_order_id=venue_order_id,
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        status=status,
        amount=Decimal("0.001"),
        filled=filled_amount,
        price=Decimal("50000"),
        average_price=Decimal("50000") if filled_amount else None,
        fee=filled_amount * Decimal(50),
        fee_currency="USDT" if filled_amount else None,
        created_at=T0,
        updated_at=T0 + timedelta(seconds=at),
    )
    return replace(ack, **changes)  # type: ignore[arg-type]


def fill_of(account: LiveAccount, fill_id: str, *, client_order_id: str | None = None) -> Fill:
    return Fill(
        fill_id=fill_id,
        account_id=account.pk,
        venue="binance",
        symbol="BTC/USDT",
        client_order_id=client_order_id,
        venue_order_id="881",
        side=OrderSide.BUY,
        price=Decimal("50000"),
        amount=Decimal("0.0005"),
        fee=Decimal("0.025"),
        fee_currency="USDT",
        liquidity=Liquidity.MAKER,
        timestamp=T0,
    )


@pytest.fixture
def intent(live_account: LiveAccount) -> str:
    request = limit_buy()
    assert request.client_order_id is not None
    ledger.record_intent(
        account_id=live_account.pk, request=request, client_order_id=request.client_order_id
    )
    return request.client_order_id


def statuses(client_order_id: str) -> list[tuple[str, str]]:
    return [
        (e["status"], e["filled"]) for e in events(OrderUpdated, client_order_id=client_order_id)
    ]


def test_an_intent_is_submitting_until_the_venue_answers(live_account: LiveAccount, intent: str):
    row = LiveOrder.objects.get(client_order_id=intent)
    assert (row.outcome, row.status, row.venue, row.amount) == (
        Outcome.SUBMITTING,
        "",
        "binance",
        Decimal("0.001"),
    )
    assert statuses(intent) == []  # an intent is not news

    assert ledger.record_ack(ack_of(live_account, intent, OrderStatus.OPEN)) is True
    assert ledger.record_ack(ack_of(live_account, intent, OrderStatus.OPEN)) is False
    row.refresh_from_db()
    assert (row.outcome, row.status, row.venue_order_id) == (Outcome.ACKNOWLEDGED, "open", "881")
    assert statuses(intent) == [("open", "0")]


def test_answers_out_of_order_never_move_an_order_back(live_account: LiveAccount, intent: str):
    record = ledger.record_ack
    assert record(ack_of(live_account, intent, OrderStatus.PARTIALLY_FILLED, "0.0004", at=2))
    assert not record(ack_of(live_account, intent, OrderStatus.OPEN, at=1))  # older
    assert record(ack_of(live_account, intent, OrderStatus.CANCELED, "0.0004", at=3))
    assert not record(ack_of(live_account, intent, OrderStatus.PARTIALLY_FILLED, "0.0004", at=9))
    assert not record(ack_of(live_account, intent, OrderStatus.OPEN, at=10))
    # HTX answers a cancel with the order id only: filled unknown (0) must not erase fills.
    assert not record(ack_of(live_account, intent, OrderStatus.CANCELED, "0", at=11))
    row = LiveOrder.objects.get(client_order_id=intent)
    assert (row.status, row.filled, row.fee, row.average_price) == (
        "canceled",
        Decimal("0.0004"),
        Decimal("0.02"),
        Decimal("50000"),
    )
    assert row.venue_updated_at == T0 + timedelta(seconds=11)  # newest seen, quietly kept
    assert statuses(intent) == [("partially_filled", "0.0004"), ("canceled", "0.0004")]


def test_a_final_state_sticks(live_account: LiveAccount, intent: str):
    assert ledger.record_ack(ack_of(live_account, intent, OrderStatus.FILLED, "0.001"))
    assert not ledger.record_ack(ack_of(live_account, intent, OrderStatus.CANCELED, "0.001"))
    assert LiveOrder.objects.get(client_order_id=intent).status == "filled"


def test_an_order_placed_elsewhere_gets_a_row_of_its_own(live_account: LiveAccount):
    ack = ack_of(live_account, "web_7d1f2", OrderStatus.OPEN, venue_order_id="990")

    assert ledger.record_ack(ack) is True

    row = LiveOrder.objects.get(client_order_id="web_7d1f2")
    assert (row.outcome, row.status, row.venue_created_at) == (Outcome.ACKNOWLEDGED, "open", T0)
    assert statuses("web_7d1f2") == [("open", "0")]
    # The same label on another order of the venue (Gate's "web" orders share one).
    other = replace(ack, venue_order_id="991")
    assert ledger.record_ack(other) is True
    assert ledger.record_ack(other) is False
    assert LiveOrder.objects.get(client_order_id="~991").venue_order_id == "991"


def test_the_same_client_order_id_twice_is_refused(live_account: LiveAccount, intent: str):
    with pytest.raises(DuplicateOrder):
        ledger.record_intent(
            account_id=live_account.pk, request=limit_buy(intent), client_order_id=intent
        )


def test_a_fill_is_recorded_and_announced_once(live_account: LiveAccount, intent: str):
    ledger.record_ack(ack_of(live_account, intent, OrderStatus.OPEN))
    fill = fill_of(live_account, "t-1")

    assert ledger.record_fill(fill) is True
    assert ledger.record_fill(fill) is False
    assert ledger.record_fill(replace(fill, client_order_id=intent)) is False

    [announced] = events(OrderFilled, fill_id="t-1")
    assert (announced["client_order_id"], announced["owner_id"], announced["fee"]) == (
        intent,
        live_account.owner_id,
        "0.025",
    )
    order = LiveFill.objects.get(fill_id="t-1").order
    assert order is not None
    assert order.client_order_id == intent


def test_the_same_trade_id_on_two_accounts_is_two_fills(live_account: LiveAccount):
    other = LiveAccount.objects.create(owner_id=7, venue="binance", name="other", secret_key="k")
    assert ledger.record_fill(fill_of(live_account, "t-9"))
    assert ledger.record_fill(fill_of(other, "t-9"))  # our two users traded with each other
    assert len(events(OrderFilled, fill_id="t-9")) == 2


def test_a_fill_that_arrives_before_its_order_joins_it_later(live_account: LiveAccount):
    assert ledger.record_fill(fill_of(live_account, "t-2"))
    assert LiveFill.objects.get(fill_id="t-2").order is None

    ledger.record_ack(ack_of(live_account, "web_1", OrderStatus.PARTIALLY_FILLED, "0.0005"))

    assert LiveFill.objects.get(fill_id="t-2").order == LiveOrder.objects.get(
        client_order_id="web_1"
    )


def test_unknown_never_overrides_what_the_venue_said(live_account: LiveAccount, intent: str):
    ledger.record_ack(ack_of(live_account, intent, OrderStatus.OPEN))  # a stream was faster

    ledger.record_unknown(account_id=live_account.pk, client_order_id=intent, reason="timeout")

    assert LiveOrder.objects.get(client_order_id=intent).outcome == Outcome.ACKNOWLEDGED


def test_the_venue_overrides_our_not_found_verdict(live_account: LiveAccount, intent: str):
    ledger.record_unknown(account_id=live_account.pk, client_order_id=intent, reason="timeout")
    row = LiveOrder.objects.get(client_order_id=intent)
    assert ledger.record_not_found(order_id=row.pk, reason="never reached binance")
    assert not ledger.record_not_found(order_id=row.pk, reason="again")

    # The venue shows it after all (Gate forgets ids of ended orders; a stream reports it).
    assert ledger.record_ack(ack_of(live_account, intent, OrderStatus.FILLED, "0.001"))

    row.refresh_from_db()
    assert (row.status, row.outcome, row.reason) == ("filled", Outcome.ACKNOWLEDGED, "")
    assert statuses(intent) == [("rejected", "0"), ("filled", "0.001")]
    verdict, correction = events(OrderUpdated, client_order_id=intent)
    # The venue stamped its answer in the past (T0): the correction still reads as newer.
    assert correction["updated_at"] >= verdict["updated_at"]


def test_a_refused_order_ignores_later_answers(live_account: LiveAccount, intent: str):
    assert ledger.record_refusal(
        account_id=live_account.pk, client_order_id=intent, reason="insufficient_funds: no"
    )
    assert not ledger.record_ack(ack_of(live_account, intent, OrderStatus.OPEN))
    assert LiveOrder.objects.get(client_order_id=intent).status == "rejected"


def test_answers_about_accounts_that_are_not_live_are_refused(db: None):
    stranger = OrderAck(
        account_id=uuid4(),
        venue="binance",
        symbol="BTC/USDT",
        client_order_id="x",
        venue_order_id="1",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        status=OrderStatus.OPEN,
        amount=Decimal(1),
        filled=Decimal(0),
    )
    with pytest.raises(UnknownAccount):
        ledger.record_ack(stranger)


@pytest.mark.django_db(transaction=True)
def test_the_same_news_from_many_threads_is_one_row_and_one_event(live_account: LiveAccount):
    ack = ack_of(live_account, "web_race", OrderStatus.PARTIALLY_FILLED, "0.0005")
    fill = fill_of(live_account, "t-race")
    start = threading.Barrier(4)
    results: list[bool] = []

    def report(record: Callable[[], bool]) -> None:
        try:
            start.wait()
            results.append(record())
        finally:
            connection.close()

    threads = [
        threading.Thread(target=report, args=(lambda: ledger.record_ack(ack),)),
        threading.Thread(target=report, args=(lambda: ledger.record_ack(ack),)),
        threading.Thread(target=report, args=(lambda: ledger.record_fill(fill),)),
        threading.Thread(target=report, args=(lambda: ledger.record_fill(fill),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, False, True, True]
    assert LiveOrder.objects.filter(client_order_id="web_race").count() == 1
    assert statuses("web_race") == [("partially_filled", "0.0005")]
    assert len(events(OrderFilled, fill_id="t-race")) == 1


def test_more_fills_without_an_average_never_keep_the_average_of_fewer(
    live_account: LiveAccount, intent: str
):
    """HTX's order pushes carry no average price. An average learnt for 0.0004 filled must not
    stand for 0.001 filled (cost = filled x average would be wrong), and once a lookup brings
    the average of all the fills, it is taken."""
    record = ledger.record_ack
    assert record(ack_of(live_account, intent, OrderStatus.PARTIALLY_FILLED, "0.0004", at=1))
    pushed = ack_of(live_account, intent, OrderStatus.FILLED, "0.001", at=2)
    assert record(replace(pushed, average_price=None, fee=Decimal(0), fee_currency=None))
    row = LiveOrder.objects.get(client_order_id=intent)
    assert (row.filled, row.average_price) == (Decimal("0.001"), None)
    looked_up = ack_of(live_account, intent, OrderStatus.FILLED, "0.001", at=3)
    assert record(replace(looked_up, average_price=Decimal("50010")))
    row.refresh_from_db()
    assert (row.filled, row.average_price) == (Decimal("0.001"), Decimal("50010"))
    assert [e["average_price"] for e in events(OrderUpdated, client_order_id=intent)] == [
        "50000",
        None,
        "50010",
    ]


@pytest.mark.django_db(transaction=True)
def test_an_intent_inside_a_callers_transaction_is_refused(live_account: LiveAccount):
    # A savepoint would be lost by the caller's rollback after the order was sent.
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        ledger.record_intent(
            account_id=live_account.pk, request=limit_buy(), client_order_id="dsta-in-atomic"
        )
    assert not LiveOrder.objects.filter(client_order_id="dsta-in-atomic").exists()
