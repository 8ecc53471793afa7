"""The ExchangeApi contract, run in-process and against a second process over HTTP.

Same expectations for both bindings: DTOs with Decimals and enums, and the same error classes,
codes and details. The paper exchange is the venue (no network needed).
"""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domains.exchange.api import (
    AccountBalances,
    BelowMinimum,
    ExchangeApi,
    InsufficientFunds,
    MarketInfo,
    OrderAck,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    PublicTrade,
    UnknownAccount,
    UnknownSymbol,
    UnknownVenue,
)
from domains.exchange.services.paper.service import PaperExchange
from domains.exchange.tests.factories import book
from dsta.kernel.errors import InvalidInput
from dsta.kernel.rpc.testing import BINDING_PARAMS, RpcBinder

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=BINDING_PARAMS)
def exchange(request: pytest.FixtureRequest, rpc_binding: RpcBinder) -> ExchangeApi:
    return rpc_binding(ExchangeApi, request.param)


@pytest.fixture
def funded() -> UUID:
    paper = PaperExchange()
    account = paper.create_account(
        name="contract", balances={"USDT": Decimal(1000), "BTC": Decimal(1)}
    )
    now = datetime.now(UTC)
    paper.feed_book(book=book(bids=[("99.00", "1")], asks=[("101.00", "2")], at=now))
    return account


def limit(amount: str, price: str, side: OrderSide = OrderSide.BUY) -> OrderRequest:
    return OrderRequest(
        symbol="BTC/USDT",
        side=side,
        type=OrderType.LIMIT,
        amount=Decimal(amount),
        price=Decimal(price),
    )


def test_orders_round_trip_as_dtos(exchange: ExchangeApi, funded: UUID):
    ack = exchange.place_order(account_id=funded, request=limit("0.5", "100.004"))
    assert isinstance(ack, OrderAck)
    assert (ack.status, ack.price, ack.amount) == (
        OrderStatus.OPEN,
        Decimal("100.00"),
        Decimal("0.5"),
    )
    assert (
        exchange.get_order(
            account_id=funded, symbol="BTC/USDT", client_order_id=ack.client_order_id
        )
        == ack
    )
    assert [o.client_order_id for o in exchange.open_orders(account_id=funded)] == [
        ack.client_order_id
    ]
    balances = exchange.balances(account_id=funded)
    assert isinstance(balances, AccountBalances)
    assert balances.of("USDT").locked == Decimal("50.0500")
    canceled = exchange.cancel_order(
        account_id=funded, symbol="BTC/USDT", client_order_id=ack.client_order_id
    )
    assert canceled.status is OrderStatus.CANCELED
    assert exchange.balances(account_id=funded).of("USDT").locked == 0


def test_fills_and_batch_cancel(exchange: ExchangeApi, funded: UUID):
    taker = exchange.place_order(account_id=funded, request=limit("0.2", "101.00"))
    assert taker.status is OrderStatus.FILLED
    [trade] = exchange.my_trades(account_id=funded, symbol="BTC/USDT")
    assert (trade.price, trade.amount, trade.fee) == (
        Decimal("101.00"),
        Decimal("0.2"),
        Decimal("0.020200"),
    )
    # One order's fills by the venue's order id, and the order by that id too.
    [by_order] = exchange.order_fills(
        account_id=funded, symbol="BTC/USDT", venue_order_id=str(taker.venue_order_id)
    )
    assert by_order == trade
    again = exchange.get_order(
        account_id=funded,
        symbol="BTC/USDT",
        client_order_id=taker.client_order_id,
        venue_order_id=taker.venue_order_id,
    )
    assert (again.client_order_id, again.status) == (taker.client_order_id, OrderStatus.FILLED)
    resting = exchange.place_order(account_id=funded, request=limit("0.1", "150", OrderSide.SELL))
    result = exchange.cancel_orders(
        account_id=funded, client_order_ids=[resting.client_order_id, "dstanope"]
    )
    assert [a.client_order_id for a in result.canceled] == [resting.client_order_id]
    assert [(f.client_order_id, f.code) for f in result.failed] == [("dstanope", "order_not_found")]


def test_the_public_tape_crosses_as_dtos(exchange: ExchangeApi, funded: UUID):
    exchange.place_order(account_id=funded, request=limit("0.2", "101.00"))
    [trade] = exchange.trades(venue="paper", symbol="BTC/USDT", limit=5)
    assert isinstance(trade, PublicTrade)
    assert (trade.price, trade.amount, trade.side) == (
        Decimal("101.00"),
        Decimal("0.2"),
        OrderSide.BUY,
    )
    assert trade.side is OrderSide.BUY  # the enum, not its string, on both bindings
    assert trade.timestamp.tzinfo is not None
    assert exchange.ticker(venue="paper", symbol="BTC/USDT").last == Decimal("101.00")
    with pytest.raises(InvalidInput):
        exchange.trades(venue="paper", symbol="BTC/USDT", limit=0)


def test_market_data_of_the_paper_venue(exchange: ExchangeApi, funded: UUID):
    markets = exchange.markets(venue="paper")
    assert all(isinstance(m, MarketInfo) for m in markets)
    btc = next(m for m in markets if m.symbol == "BTC/USDT")
    assert (btc.amount_step, btc.price_tick, btc.min_notional) == (
        Decimal("0.00001"),
        Decimal("0.01"),
        Decimal(5),
    )
    ticker = exchange.ticker(venue="paper", symbol="BTC/USDT")
    assert (ticker.bid, ticker.ask) == (Decimal("99.00"), Decimal("101.00"))
    assert len(exchange.order_book(venue="paper", symbol="BTC/USDT", depth=1).asks) == 1
    assert exchange.ohlcv(venue="paper", symbol="BTC/USDT", timeframe="1m") == []


def test_errors_cross_with_their_class_code_and_details(exchange: ExchangeApi, funded: UUID):
    with pytest.raises(UnknownVenue) as venue:
        exchange.markets(venue="kraken")
    assert venue.value.code == "unknown_venue"
    with pytest.raises(UnknownSymbol):
        exchange.ticker(venue="paper", symbol="NOPE/USDT")
    with pytest.raises(UnknownAccount):
        exchange.balances(account_id=uuid4())
    with pytest.raises(InsufficientFunds) as funds:
        exchange.place_order(account_id=funded, request=limit("50", "100"))
    assert funds.value.details == {"asset": "USDT", "required": "5005.000", "free": "1000"}
    with pytest.raises(BelowMinimum) as below:
        exchange.place_order(account_id=funded, request=limit("0.01", "100"))
    assert below.value.details["limit"] == "min_notional"
    with pytest.raises(InvalidInput):
        exchange.order_book(venue="paper", symbol="BTC/USDT", depth=0)
