"""The paper exchange through the database: state survives between calls, events go out."""

from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domains.exchange.api import (
    Candle,
    DuplicateOrder,
    InsufficientFunds,
    OrderNotFound,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    UnknownAccount,
    UnknownSymbol,
)
from domains.exchange.events import OrderBookUpdated, OrderFilled, OrderUpdated
from domains.exchange.models import PaperBalance, PaperFill, PaperOrder
from domains.exchange.services.paper.service import PaperExchange
from domains.exchange.services.paper.state import PaperConfig
from domains.exchange.tests.factories import T0, ManualClock, book
from dsta.kernel.bus.models import OutboxMessage

pytestmark = pytest.mark.django_db

BOOK = book(bids=[("99.00", "1")], asks=[("101.00", "0.5"), ("102.00", "1")])


def limit(side: OrderSide, amount: str, price: str, **kw: object) -> OrderRequest:
    return OrderRequest(
        symbol="BTC/USDT",
        side=side,
        type=OrderType.LIMIT,
        amount=Decimal(amount),
        price=Decimal(price),
        **kw,  # type: ignore[arg-type]
    )


def outbox(name: str, client_order_id: str) -> list[dict[str, object]]:
    rows = OutboxMessage.objects.filter(name=name, payload__client_order_id=client_order_id)
    return [row.payload for row in rows.order_by("id")]


def test_starting_balances_are_set_at_creation(paper: PaperExchange, account: UUID):
    balances = paper.balances(account_id=account)
    assert [(b.asset, b.free, b.locked) for b in balances.balances] == [
        ("BTC", Decimal("1"), Decimal("0")),
        ("USDT", Decimal("10000"), Decimal("0")),
    ]


def test_a_resting_order_survives_in_the_database_and_fills_on_the_next_book(
    paper: PaperExchange, account: UUID
):
    paper.feed_book(book=BOOK)
    ack = paper.place_order(account_id=account, request=limit(OrderSide.BUY, "1", "100.00"))
    assert ack.status is OrderStatus.OPEN
    assert ack.client_order_id.startswith("dsta")
    assert paper.balances(account_id=account).of("USDT").locked == Decimal("100.100")
    assert [o.client_order_id for o in paper.open_orders(account_id=account)] == [
        ack.client_order_id
    ]

    fills = paper.feed_book(book=book(bids=[("98", "1")], asks=[("99.99", "3")]))
    assert [(f.price, f.amount, f.client_order_id) for f in fills] == [
        (Decimal("100.00"), Decimal("1"), ack.client_order_id)
    ]
    order = paper.get_order(
        account_id=account, symbol="BTC/USDT", client_order_id=ack.client_order_id
    )
    assert order.status is OrderStatus.FILLED
    assert order.fee == Decimal("0.1")
    balances = paper.balances(account_id=account)
    assert balances.of("USDT").free == Decimal("9899.9")
    assert balances.of("USDT").locked == 0
    assert balances.of("BTC").free == Decimal("2")
    assert paper.open_orders(account_id=account) == []
    [trade] = paper.my_trades(account_id=account)
    assert (trade.fill_id, trade.fee, trade.fee_currency) == (
        fills[0].fill_id,
        Decimal("0.1"),
        "USDT",
    )


def test_order_events_are_written_to_the_outbox_in_the_same_transaction(
    paper: PaperExchange, account: UUID
):
    paper.feed_book(book=BOOK)
    ack = paper.place_order(account_id=account, request=limit(OrderSide.BUY, "0.7", "102.00"))
    assert [p["status"] for p in outbox(OrderUpdated.name, ack.client_order_id)] == ["filled"]
    filled = outbox(OrderFilled.name, ack.client_order_id)
    assert [(p["price"], p["amount"], p["liquidity"]) for p in filled] == [
        ("101.00", "0.5", "taker"),
        ("102.00", "0.2", "taker"),
    ]
    assert {p["fill_id"] for p in filled} == set(
        PaperFill.objects.filter(order__client_order_id=ack.client_order_id).values_list(
            "fill_id", flat=True
        )
    )


def test_a_refused_order_leaves_no_trace(paper: PaperExchange, account: UUID):
    paper.feed_book(book=BOOK)
    with pytest.raises(InsufficientFunds):
        paper.place_order(account_id=account, request=limit(OrderSide.BUY, "200", "100.00"))
    assert not PaperOrder.objects.filter(account_id=account).exists()
    assert paper.balances(account_id=account).of("USDT").free == Decimal("10000")


def test_cancel_releases_the_lock_and_batch_cancel_reports_each_order(
    paper: PaperExchange, account: UUID
):
    first = paper.place_order(account_id=account, request=limit(OrderSide.SELL, "0.25", "150"))
    second = paper.place_order(account_id=account, request=limit(OrderSide.SELL, "0.5", "160"))
    assert paper.balances(account_id=account).of("BTC").locked == Decimal("0.75")
    canceled = paper.cancel_order(
        account_id=account, symbol="BTC/USDT", client_order_id=first.client_order_id
    )
    assert canceled.status is OrderStatus.CANCELED
    assert paper.balances(account_id=account).of("BTC").locked == Decimal("0.5")
    result = paper.cancel_orders(
        account_id=account, client_order_ids=[second.client_order_id, "dstanothere"]
    )
    assert [a.client_order_id for a in result.canceled] == [second.client_order_id]
    assert [(f.client_order_id, f.code) for f in result.failed] == [
        ("dstanothere", "order_not_found")
    ]
    btc = paper.balances(account_id=account).of("BTC")
    assert (btc.free, btc.locked) == (Decimal("1"), Decimal("0"))


def test_cancel_all_cancels_only_working_orders_of_the_symbol(paper: PaperExchange, account: UUID):
    for price in ("150", "160"):
        paper.place_order(account_id=account, request=limit(OrderSide.SELL, "0.1", price))
    result = paper.cancel_orders(account_id=account, symbol="BTC/USDT")
    assert len(result.canceled) == 2
    assert paper.open_orders(account_id=account) == []


def test_duplicate_client_order_id_is_refused_even_after_the_order_ended(
    paper: PaperExchange, account: UUID
):
    ack = paper.place_order(account_id=account, request=limit(OrderSide.SELL, "0.1", "150"))
    paper.cancel_order(account_id=account, symbol="BTC/USDT", client_order_id=ack.client_order_id)
    with pytest.raises(DuplicateOrder):
        paper.place_order(
            account_id=account,
            request=limit(OrderSide.SELL, "0.1", "150", client_order_id=ack.client_order_id),
        )


def test_unknown_account_symbol_and_order(paper: PaperExchange, account: UUID):
    with pytest.raises(UnknownAccount):
        paper.balances(account_id=uuid4())
    with pytest.raises(UnknownSymbol):
        paper.place_order(
            account_id=account,
            request=OrderRequest(
                symbol="NOPE/USDT",
                side=OrderSide.BUY,
                type=OrderType.LIMIT,
                amount=Decimal(1),
                price=Decimal(1),
            ),
        )
    with pytest.raises(OrderNotFound):
        paper.get_order(account_id=account, symbol="BTC/USDT", client_order_id="dstamissing")


def test_latency_is_served_by_the_clock_across_calls(clock: ManualClock):
    paper = PaperExchange(clock=clock)
    account = paper.create_account(
        name="slow",
        balances={"USDT": Decimal("1000")},
        config=PaperConfig(latency=timedelta(milliseconds=300)),
    )
    paper.feed_book(book=BOOK)
    ack = paper.place_order(account_id=account, request=limit(OrderSide.BUY, "0.5", "101"))
    assert ack.status is OrderStatus.OPEN
    assert ack.filled == 0
    clock.advance(milliseconds=300)
    order = paper.get_order(
        account_id=account, symbol="BTC/USDT", client_order_id=ack.client_order_id
    )
    assert order.status is OrderStatus.FILLED


def test_candle_feed_builds_the_synthetic_book_and_fills_through_it(
    paper: PaperExchange, account: UUID
):
    ack = paper.place_order(account_id=account, request=limit(OrderSide.BUY, "0.5", "97"))
    candle = Candle(open_time=T0, open=99, high=100, low=96, close=99, volume=100)
    fills = paper.feed_candle(venue="paper", symbol="BTC/USDT", candle=candle)
    assert [(f.price, f.amount) for f in fills] == [(Decimal("97.00"), Decimal("0.5"))]
    ticker = paper.ticker(venue="paper", symbol="BTC/USDT")
    assert ticker.bid == Decimal("98.95")  # 99 * (1 - 5 bps), floored to the tick
    assert ticker.ask == Decimal("99.05")
    assert paper.order_book(venue="paper", symbol="BTC/USDT", depth=2).asks[1].price == Decimal(
        "99.10"
    )
    assert (
        paper.get_order(
            account_id=account, symbol="BTC/USDT", client_order_id=ack.client_order_id
        ).status
        is OrderStatus.FILLED
    )


def test_balances_are_exact_on_the_database(paper: PaperExchange, account: UUID):
    # 17 significant digits: a float column (SQLite's NUMERIC) would round this.
    paper.feed_book(book=book(bids=[("60000.12", "1")], asks=[("60000.13", "1")]))
    paper.place_order(account_id=account, request=limit(OrderSide.SELL, "0.12345", "60000.12"))
    usdt = PaperBalance.objects.get(account_id=account, asset="USDT")
    proceeds = Decimal("60000.12") * Decimal("0.12345")
    assert usdt.free == Decimal("10000") + proceeds - proceeds * Decimal("0.001")


@pytest.mark.django_db(transaction=True)
def test_subscribers_get_the_same_events_a_venue_would_send(
    paper: PaperExchange, delivered: list[object]
):
    account = paper.create_account(name="events", balances={"USDT": Decimal("1000")})
    paper.feed_book(book=BOOK)
    ack = paper.place_order(account_id=account, request=limit(OrderSide.BUY, "0.6", "102.00"))
    mine = [e for e in delivered if getattr(e, "client_order_id", None) == ack.client_order_id]
    assert [type(e).__name__ for e in mine] == ["OrderUpdated", "OrderFilled", "OrderFilled"]
    update, *fills = mine
    assert isinstance(update, OrderUpdated)
    assert (update.status, update.filled, update.fee_currency) == ("filled", Decimal("0.6"), "USDT")
    assert sum(f.fee for f in fills if isinstance(f, OrderFilled)) == update.fee
    market_data = [
        e for e in delivered if type(e).__name__ in ("OrderBookUpdated", "TickerUpdated")
    ]
    assert {type(e).__name__ for e in market_data} == {"OrderBookUpdated", "TickerUpdated"}


@pytest.mark.django_db(transaction=True)
def test_fills_name_the_account_owner_so_core_can_tell_them(
    paper: PaperExchange, delivered: list[object]
):
    account = paper.create_account(name="owned", balances={"USDT": Decimal("1000")}, owner_id=7)
    paper.feed_book(book=BOOK)
    ack = paper.place_order(account_id=account, request=limit(OrderSide.BUY, "0.6", "102.00"))
    fills = [
        e
        for e in delivered
        if isinstance(e, OrderFilled) and e.client_order_id == ack.client_order_id
    ]
    assert [f.owner_id for f in fills] == [7, 7]


@pytest.mark.django_db(transaction=True)
def test_fills_that_take_liquidity_publish_the_book_they_leave(
    paper: PaperExchange, delivered: list[object]
):
    account = paper.create_account(name="taker", balances={"USDT": Decimal("1000")})
    paper.feed_book(book=BOOK)
    fed = len(delivered)
    paper.place_order(account_id=account, request=limit(OrderSide.BUY, "0.6", "102.00"))
    books = [e for e in delivered[fed:] if isinstance(e, OrderBookUpdated)]
    # One new book, without the liquidity the order took; it equals what the venue now shows.
    [after] = books
    shown = paper.order_book(venue="paper", symbol="BTC/USDT")
    assert after.asks == [(level.price, level.amount) for level in shown.asks[:50]]
    assert after.asks != [(level.price, level.amount) for level in BOOK.asks[:50]]
    # A resting order that takes nothing changes no book.
    fed = len(delivered)
    paper.place_order(account_id=account, request=limit(OrderSide.BUY, "0.1", "50.00"))
    assert not [e for e in delivered[fed:] if isinstance(e, OrderBookUpdated)]
