"""The paper venue's public tape: every fill, of any account, is one anonymous print whose side
is the aggressor's; the ticker's ``last`` is the latest print."""

from dataclasses import fields
from decimal import Decimal
from uuid import UUID

import pytest

from domains.exchange.api import OrderRequest, OrderSide, OrderType, PublicTrade, UnknownSymbol
from domains.exchange.events import TradeExecuted
from domains.exchange.services.gateway import ExchangeGateway
from domains.exchange.services.paper.service import PaperExchange
from domains.exchange.tests.factories import ManualClock, book
from dsta.kernel.bus import subscribe, unsubscribe
from dsta.kernel.errors import InvalidInput

pytestmark = pytest.mark.django_db

BOOK = book(bids=[("99.00", "1")], asks=[("101.00", "0.5"), ("102.00", "1")])


def limit(side: OrderSide, amount: str, price: str) -> OrderRequest:
    return OrderRequest(
        symbol="BTC/USDT",
        side=side,
        type=OrderType.LIMIT,
        amount=Decimal(amount),
        price=Decimal(price),
    )


def funded(paper: PaperExchange, name: str) -> UUID:
    return paper.create_account(name=name, balances={"USDT": Decimal(10000), "BTC": Decimal(1)})


def trade_four_prints(paper: PaperExchange, clock: ManualClock) -> tuple[UUID, UUID]:
    """Account A takes two asks (buy aggressor), B's resting bid is hit by a new book (sell
    aggressor: B was the maker), A sells into the bid (sell aggressor)."""
    a, b = funded(paper, "a"), funded(paper, "b")
    paper.feed_book(book=BOOK)
    paper.place_order(account_id=a, request=limit(OrderSide.BUY, "0.6", "102.00"))
    clock.advance(seconds=1)
    paper.place_order(account_id=b, request=limit(OrderSide.BUY, "0.3", "100.00"))
    clock.advance(seconds=1)
    paper.feed_book(book=book(bids=[("98.00", "2")], asks=[("99.50", "1")], at=clock.now))
    clock.advance(seconds=1)
    paper.place_order(account_id=a, request=limit(OrderSide.SELL, "0.2", "97.00"))
    return a, b


def test_fills_of_every_account_are_anonymous_prints_oldest_first(
    paper: PaperExchange, clock: ManualClock
):
    a, b = trade_four_prints(paper, clock)

    tape = paper.trades(venue="paper", symbol="BTC/USDT", limit=10)

    assert [(t.price, t.amount, t.side) for t in tape] == [
        (Decimal("101.00"), Decimal("0.5"), OrderSide.BUY),
        (Decimal("102.00"), Decimal("0.1"), OrderSide.BUY),
        (Decimal("100.00"), Decimal("0.3"), OrderSide.SELL),  # B's bid was hit
        (Decimal("98.00"), Decimal("0.2"), OrderSide.SELL),
    ]
    fills = paper.my_trades(account_id=a) + paper.my_trades(account_id=b)
    assert {t.trade_id for t in tape} == {f.fill_id for f in fills}
    assert [t.timestamp for t in tape] == sorted(t.timestamp for t in tape)
    assert {t.venue for t in tape} == {"paper"}
    assert "account_id" not in {f.name for f in fields(PublicTrade)}


def test_the_latest_limit_prints_are_kept(paper: PaperExchange, clock: ManualClock):
    trade_four_prints(paper, clock)
    whole = paper.trades(venue="paper", symbol="BTC/USDT", limit=10)
    assert paper.trades(venue="paper", symbol="BTC/USDT", limit=2) == whole[-2:]
    assert paper.trades(venue="paper", symbol="BTC/USDT", limit=1) == whole[-1:]
    # Another symbol has its own (empty) tape.
    assert paper.trades(venue="paper", symbol="ETH/USDT", limit=10) == []


def test_ticker_last_is_the_latest_print_and_the_mid_before_any(
    paper: PaperExchange, clock: ManualClock
):
    account = funded(paper, "t")
    paper.feed_book(book=BOOK)
    assert paper.ticker(venue="paper", symbol="BTC/USDT").last == Decimal("100.00")  # the mid
    paper.place_order(account_id=account, request=limit(OrderSide.BUY, "0.6", "102.00"))
    ticker = paper.ticker(venue="paper", symbol="BTC/USDT")
    assert ticker.last == Decimal("102.00")
    assert (ticker.bid, ticker.ask) == (Decimal("99.00"), Decimal("102.00"))
    clock.advance(seconds=1)
    paper.place_order(account_id=account, request=limit(OrderSide.SELL, "0.5", "99.00"))
    assert paper.ticker(venue="paper", symbol="BTC/USDT").last == Decimal("99.00")


def test_the_gateway_checks_limit_and_symbol(paper: PaperExchange, clock: ManualClock):
    gateway = ExchangeGateway(paper=paper)
    trade_four_prints(paper, clock)
    assert len(gateway.trades(venue="paper", symbol="BTC/USDT")) == 4  # default limit: 100
    for bad in (0, 1001):
        with pytest.raises(InvalidInput):
            gateway.trades(venue="paper", symbol="BTC/USDT", limit=bad)
    with pytest.raises(UnknownSymbol):
        gateway.trades(venue="paper", symbol="NOPE/USDT")


@pytest.mark.django_db(transaction=True)
def test_the_streamed_prints_are_the_tape(paper: PaperExchange, clock: ManualClock):
    streamed: list[TradeExecuted] = []
    subscribe(TradeExecuted, streamed.append, subscriber="tests.exchange_tape")
    try:
        trade_four_prints(paper, clock)
    finally:
        unsubscribe(TradeExecuted, subscriber="tests.exchange_tape")
    tape = paper.trades(venue="paper", symbol="BTC/USDT", limit=10)
    assert [(e.trade_id, e.price, e.amount, e.side, e.traded_at) for e in streamed] == [
        (t.trade_id, t.price, t.amount, t.side, t.timestamp) for t in tape
    ]
