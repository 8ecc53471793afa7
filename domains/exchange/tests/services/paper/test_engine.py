"""The paper matching engine, case by case (pure: no database)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from domains.exchange.api import (
    BelowMinimum,
    Candle,
    DuplicateOrder,
    InsufficientFunds,
    InvalidOrder,
    Liquidity,
    MarketType,
    OrderNotFound,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    UnknownAccount,
    UnknownSymbol,
)
from domains.exchange.services.paper.state import PaperConfig
from domains.exchange.services.paper.synthetic import SyntheticBookModel
from domains.exchange.tests.factories import T0, book, btc_usdt, harness

BOOK = book(
    bids=[("99.00", "1"), ("98.00", "2")],
    asks=[("101.00", "0.5"), ("102.00", "1"), ("103.00", "2")],
)


def buy(amount: str, price: str | None = None, **kw: object) -> OrderRequest:
    kind = OrderType.LIMIT if price else OrderType.MARKET
    return OrderRequest(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=kw.pop("type", kind),  # type: ignore[arg-type]
        amount=Decimal(amount),
        price=Decimal(price) if price else None,
        **kw,  # type: ignore[arg-type]
    )


def sell(amount: str, price: str | None = None, **kw: object) -> OrderRequest:
    kind = OrderType.LIMIT if price else OrderType.MARKET
    return OrderRequest(
        symbol="BTC/USDT",
        side=OrderSide.SELL,
        type=kw.pop("type", kind),  # type: ignore[arg-type]
        amount=Decimal(amount),
        price=Decimal(price) if price else None,
        **kw,  # type: ignore[arg-type]
    )


def test_market_buy_walks_the_book_one_fill_per_level_with_taker_fees():
    h = harness()
    h.engine.set_book(BOOK)
    order, result = h.engine.place(account_id=h.account_id, request=buy("1.2"))
    assert order.status is OrderStatus.FILLED
    assert [(f.price, f.amount) for f in result.fills] == [
        (Decimal("101.00"), Decimal("0.5")),
        (Decimal("102.00"), Decimal("0.7")),
    ]
    assert all(f.liquidity is Liquidity.TAKER and f.fee_currency == "USDT" for f in result.fills)
    cost = Decimal("101") * Decimal("0.5") + Decimal("102") * Decimal("0.7")
    assert order.fee == cost * Decimal("0.001") == sum(f.fee for f in result.fills)
    assert order.average_price == cost / Decimal("1.2")
    assert h.balance("USDT").free == Decimal("10000") - cost * Decimal("1.001")
    assert h.balance("USDT").locked == 0
    assert h.balance("BTC").free == Decimal("2.2")
    # The fills consumed the book: the 102 level has 0.3 left, the 101 level is gone.
    assert [(lv.price, lv.amount) for lv in h.engine.books["BTC/USDT"].asks][:1] == [
        (Decimal("102.00"), Decimal("0.3"))
    ]


def test_market_order_larger_than_the_book_fills_the_depth_and_expires_the_rest():
    h = harness(balances={"BTC": "10", "USDT": "0"})
    h.engine.set_book(BOOK)
    order, result = h.engine.place(account_id=h.account_id, request=sell("5"))
    assert order.status is OrderStatus.EXPIRED
    assert order.filled == Decimal("3") == sum(f.amount for f in result.fills)
    assert h.balance("BTC").locked == 0
    assert h.balance("BTC").free == Decimal("7")
    assert h.balance("USDT").free == (Decimal("99") + Decimal("196")) * Decimal("0.999")


def test_market_order_without_a_book_is_refused_before_anything_is_locked():
    h = harness()
    with pytest.raises(InvalidOrder, match="no order book"):
        h.engine.place(account_id=h.account_id, request=buy("0.1"))
    assert h.balance("USDT").locked == 0
    assert h.engine.orders == {}


def test_limit_buy_rests_with_funds_locked_then_fills_as_maker_when_the_book_crosses_it():
    h = harness()
    h.engine.set_book(BOOK)
    order, result = h.engine.place(account_id=h.account_id, request=buy("1", "100.00"))
    assert order.status is OrderStatus.OPEN
    assert result.fills == []
    locked = Decimal("100.00") * Decimal("1.001")
    assert h.balance("USDT").locked == locked
    assert h.balance("USDT").free == Decimal("10000") - locked

    result = h.engine.set_book(book(bids=[("97", "1")], asks=[("99.50", "0.4"), ("100.00", "5")]))
    assert [(f.price, f.amount, f.liquidity) for f in result.fills] == [
        (Decimal("100.00"), Decimal("0.4"), Liquidity.MAKER),
        (Decimal("100.00"), Decimal("0.6"), Liquidity.MAKER),
    ]
    assert order.status is OrderStatus.FILLED
    assert h.balance("USDT").locked == 0
    assert h.balance("USDT").free == Decimal("10000") - Decimal("100") * Decimal("1.001")
    assert h.balance("BTC").free == Decimal("2")


def test_crossing_limit_takes_what_crosses_and_rests_the_remainder():
    h = harness()
    h.engine.set_book(BOOK)
    order, result = h.engine.place(account_id=h.account_id, request=buy("2", "102.00"))
    assert [(f.price, f.amount) for f in result.fills] == [
        (Decimal("101.00"), Decimal("0.5")),
        (Decimal("102.00"), Decimal("1")),
    ]
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.remaining == Decimal("0.5")
    # Still locked: the remainder at its limit plus the highest fee rate.
    assert order.reserved >= Decimal("0.5") * Decimal("102") * Decimal("1.001")
    assert h.balance("USDT").locked == order.reserved


def test_resting_sell_fills_when_bids_rise_to_it():
    h = harness()
    h.engine.set_book(BOOK)
    order, _ = h.engine.place(account_id=h.account_id, request=sell("0.5", "105.00"))
    assert h.balance("BTC").locked == Decimal("0.5")
    result = h.engine.set_book(book(bids=[("106", "0.2"), ("105", "1")], asks=[("107", "1")]))
    assert [f.amount for f in result.fills] == [Decimal("0.2"), Decimal("0.3")]
    assert all(f.price == Decimal("105.00") for f in result.fills)
    assert order.status is OrderStatus.FILLED
    assert h.balance("BTC").locked == 0
    assert h.balance("USDT").free == Decimal("10000") + Decimal("52.5") * Decimal("0.999")


def test_ioc_fills_what_crosses_and_expires_the_rest_releasing_its_lock():
    h = harness()
    h.engine.set_book(BOOK)
    order, result = h.engine.place(
        account_id=h.account_id, request=buy("1", "101.00", time_in_force=TimeInForce.IOC)
    )
    assert order.status is OrderStatus.EXPIRED
    assert order.filled == Decimal("0.5")
    assert len(result.fills) == 1
    assert h.balance("USDT").locked == 0
    assert h.balance("USDT").free == Decimal("10000") - Decimal("50.5") * Decimal("1.001")


def test_fok_that_cannot_fill_entirely_expires_untouched():
    h = harness()
    h.engine.set_book(BOOK)
    order, result = h.engine.place(
        account_id=h.account_id, request=buy("2", "102.00", time_in_force=TimeInForce.FOK)
    )
    assert order.status is OrderStatus.EXPIRED
    assert order.reason == "fok_not_fillable"
    assert result.fills == []
    assert order.filled == 0
    assert h.balance("USDT").free == Decimal("10000")
    assert h.balance("USDT").locked == 0
    order, result = h.engine.place(
        account_id=h.account_id, request=buy("1.5", "102.00", time_in_force=TimeInForce.FOK)
    )
    assert order.status is OrderStatus.FILLED
    assert sum(f.amount for f in result.fills) == Decimal("1.5")


def test_post_only_is_rejected_when_it_would_take_and_rests_otherwise():
    h = harness()
    h.engine.set_book(BOOK)
    order, result = h.engine.place(
        account_id=h.account_id, request=buy("1", "101.00", post_only=True)
    )
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "post_only_would_cross"
    assert result.fills == []
    assert h.balance("USDT").locked == 0
    order, _ = h.engine.place(
        account_id=h.account_id, request=buy("1", "100.99", time_in_force=TimeInForce.PO)
    )
    assert order.status is OrderStatus.OPEN
    assert order.post_only


def test_stop_limit_waits_locked_until_the_market_reaches_its_stop():
    h = harness()
    h.engine.set_book(BOOK)  # mid 100
    order, _ = h.engine.place(
        account_id=h.account_id,
        request=buy("0.5", "106.00", type=OrderType.STOP_LIMIT, stop_price=Decimal("105.00")),
    )
    assert order.status is OrderStatus.PENDING_TRIGGER
    assert h.balance("USDT").locked == Decimal("53") * Decimal("1.001")
    result = h.engine.set_book(book(bids=[("103", "1")], asks=[("106.50", "1")]))  # mid 104.75
    assert order.status is OrderStatus.PENDING_TRIGGER
    assert result.fills == []
    result = h.engine.set_book(book(bids=[("105", "1")], asks=[("105.50", "0.2"), ("107", "1")]))
    assert order.triggered
    assert [(f.price, f.amount, f.liquidity) for f in result.fills] == [
        (Decimal("105.50"), Decimal("0.2"), Liquidity.TAKER)
    ]
    assert order.status is OrderStatus.PARTIALLY_FILLED  # the rest rests at 106 as a limit


def test_sell_stop_fires_on_a_candle_low_and_sells_into_the_model_book():
    h = harness()
    h.engine.set_book(BOOK)
    order, _ = h.engine.place(
        account_id=h.account_id,
        request=sell("0.1", "90.00", type=OrderType.STOP_LIMIT, stop_price=Decimal("95.00")),
    )
    candle = Candle(open_time=T0, open=99, high=100, low=94, close=96, volume=50)
    result = h.engine.apply_candle(symbol="BTC/USDT", candle=candle)
    assert order.triggered
    assert order.status is OrderStatus.FILLED
    # Taken against the model book around the close: best bid 96 * (1 - 5 bps), floored.
    assert result.fills[0].price == Decimal("95.95")


def test_candle_fills_a_resting_buy_it_traded_through_up_to_its_volume():
    h = harness(balances={"USDT": "100000"})
    h.engine.set_book(BOOK)
    order, _ = h.engine.place(account_id=h.account_id, request=buy("3", "97.00"))
    touching = Candle(open_time=T0, open=99, high=100, low=97, close=99, volume=10)
    assert h.engine.apply_candle(symbol="BTC/USDT", candle=touching).fills == []
    through = Candle(open_time=T0, open=99, high=100, low=96.5, close=99, volume=2)
    result = h.engine.apply_candle(symbol="BTC/USDT", candle=through)
    assert [(f.price, f.amount, f.liquidity) for f in result.fills] == [
        (Decimal("97.00"), Decimal("2"), Liquidity.MAKER)
    ]
    assert order.status is OrderStatus.PARTIALLY_FILLED


def test_synthetic_book_follows_the_documented_model():
    h = harness()
    candle = Candle(open_time=T0, open=99, high=101, low=98, close=100, volume=1000)
    model = SyntheticBookModel(
        spread_bps=Decimal(20), level_step_bps=Decimal(10), levels=3, decay=Decimal("0.5")
    )
    h.engine.apply_candle(symbol="BTC/USDT", candle=candle, model=model)
    paper_book = h.engine.books["BTC/USDT"]
    assert [(lv.price, lv.amount) for lv in paper_book.bids] == [
        (Decimal("99.90"), Decimal("10")),
        (Decimal("99.80"), Decimal("5")),
        (Decimal("99.70"), Decimal("2.5")),
    ]
    assert [(lv.price, lv.amount) for lv in paper_book.asks] == [
        (Decimal("100.10"), Decimal("10")),
        (Decimal("100.20"), Decimal("5")),
        (Decimal("100.30"), Decimal("2.5")),
    ]


def test_cancel_releases_the_lock_and_a_second_cancel_changes_nothing():
    h = harness()
    order, _ = h.engine.place(account_id=h.account_id, request=sell("0.25", "150.00"))
    assert h.balance("BTC").locked == Decimal("0.25")
    _, result = h.engine.cancel(account_id=h.account_id, client_order_id=order.client_order_id)
    assert order.status is OrderStatus.CANCELED
    assert result.orders == [order]
    assert h.balance("BTC").locked == 0
    assert h.balance("BTC").free == Decimal("1")
    _, again = h.engine.cancel(account_id=h.account_id, client_order_id=order.client_order_id)
    assert again.orders == []
    assert order.status is OrderStatus.CANCELED
    with pytest.raises(OrderNotFound):
        h.engine.cancel(account_id=h.account_id, client_order_id="dsta-nope")


def test_refusals_happen_before_any_state_changes():
    h = harness(balances={"USDT": "50"})
    h.engine.set_book(BOOK)
    with pytest.raises(InsufficientFunds) as info:
        h.engine.place(account_id=h.account_id, request=buy("1", "100.00"))
    assert info.value.details == {"asset": "USDT", "required": "100.10000", "free": "50"}
    with pytest.raises(BelowMinimum) as below:
        h.engine.place(account_id=h.account_id, request=buy("0.04", "100.00"))
    assert below.value.details["limit"] == "min_notional"
    with pytest.raises(InvalidOrder, match="reduce_only"):
        h.engine.place(account_id=h.account_id, request=buy("0.1", "100.00", reduce_only=True))
    with pytest.raises(UnknownSymbol):
        h.engine.place(
            account_id=h.account_id,
            request=OrderRequest(
                symbol="DOGE/USDT", side=OrderSide.BUY, type=OrderType.MARKET, amount=Decimal(1)
            ),
        )
    with pytest.raises(UnknownAccount):
        h.engine.place(account_id=h.engine.new_id(), request=buy("0.1", "100.00"))  # type: ignore[arg-type]
    assert h.engine.orders == {}
    assert h.balance("USDT").free == Decimal("50")
    assert h.balance("USDT").locked == 0


def test_derivative_markets_are_not_simulated():
    h = harness(markets=[btc_usdt(symbol="BTC/USDT:USDT", market_type=MarketType.SWAP)])
    request = OrderRequest(
        symbol="BTC/USDT:USDT",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=Decimal(1),
        price=Decimal(1),
    )
    with pytest.raises(InvalidOrder, match="spot markets only"):
        h.engine.place(account_id=h.account_id, request=request)


def test_client_order_ids_are_ours_and_unique_per_account():
    h = harness()
    order, _ = h.engine.place(account_id=h.account_id, request=buy("0.1", "90.00"))
    assert order.client_order_id.startswith("dsta")
    assert len(order.client_order_id) <= 32
    with pytest.raises(DuplicateOrder):
        h.engine.place(
            account_id=h.account_id,
            request=buy("0.1", "90.00", client_order_id=order.client_order_id),
        )


def test_amount_and_price_are_rounded_to_the_market_before_matching():
    h = harness()
    order, _ = h.engine.place(account_id=h.account_id, request=buy("0.123456789", "90.005"))
    assert order.amount == Decimal("0.12345")  # truncated to the 0.00001 lot
    assert order.price == Decimal("90.01")  # rounded half-up to the 0.01 tick


def test_latency_delays_arrival_until_the_clock_passes_it():
    h = harness(config=PaperConfig(latency=timedelta(milliseconds=250)))
    h.engine.set_book(BOOK)
    order, result = h.engine.place(account_id=h.account_id, request=buy("0.5", "101.00"))
    assert order.status is OrderStatus.OPEN
    assert not order.arrived
    assert result.fills == []
    assert h.balance("USDT").locked > 0  # funds are held from the moment it is accepted
    h.clock.advance(milliseconds=249)
    assert h.engine.advance().fills == []
    # The book moves before it arrives: it meets the new book, not the one it was sent against.
    h.clock.advance(milliseconds=1)
    result = h.engine.set_book(book(bids=[("99", "1")], asks=[("100.50", "0.5")]))
    assert order.arrived
    assert order.status is OrderStatus.FILLED
    assert [(f.price, f.liquidity) for f in result.fills] == [(Decimal("100.50"), Liquidity.TAKER)]


def test_cancel_during_latency_means_the_order_never_arrives():
    h = harness(config=PaperConfig(latency=timedelta(seconds=1)))
    h.engine.set_book(BOOK)
    order, _ = h.engine.place(account_id=h.account_id, request=buy("0.5", "101.00"))
    h.engine.cancel(account_id=h.account_id, client_order_id=order.client_order_id)
    h.clock.advance(seconds=2)
    assert h.engine.advance().fills == []
    assert order.filled == 0
    assert h.balance("USDT").locked == 0


def test_slippage_worsens_taker_prices_but_never_past_the_limit():
    h = harness(config=PaperConfig(slippage_bps=Decimal(50)))
    h.engine.set_book(BOOK)
    _, result = h.engine.place(account_id=h.account_id, request=buy("0.6"))
    # 101 * 1.005 = 101.505 -> ceiled to 101.51; 102 * 1.005 = 102.51
    assert [f.price for f in result.fills] == [Decimal("101.51"), Decimal("102.51")]
    h.engine.set_book(BOOK)
    _, result = h.engine.place(account_id=h.account_id, request=buy("0.6", "101.20"))
    assert [f.price for f in result.fills] == [Decimal("101.20")]


def test_market_buy_never_spends_more_than_it_locked():
    # The book jumps between placement and arrival: the buy stops when its lock runs out.
    config = PaperConfig(
        latency=timedelta(seconds=1), market_buy_buffer_bps=Decimal(0), taker_fee=Decimal(0)
    )
    h = harness(config=config)
    h.engine.set_book(BOOK)
    order, _ = h.engine.place(account_id=h.account_id, request=buy("0.5"))
    assert order.reserved == Decimal("50.5")
    h.clock.advance(seconds=1)
    result = h.engine.set_book(book(bids=[("150", "1")], asks=[("202", "10")]))
    assert order.status is OrderStatus.EXPIRED
    assert [(f.price, f.amount) for f in result.fills] == [(Decimal("202"), Decimal("0.25"))]
    assert h.balance("USDT").free == Decimal("10000") - Decimal("50.5")
    assert h.balance("USDT").locked == 0


def test_maker_and_taker_rates_are_applied_to_the_right_fills():
    h = harness(config=PaperConfig(maker_fee=Decimal("0.0002"), taker_fee=Decimal("0.0007")))
    h.engine.set_book(BOOK)
    order, taken = h.engine.place(account_id=h.account_id, request=buy("1", "101.00"))
    made = h.engine.set_book(book(bids=[("99", "1")], asks=[("100", "1")]))
    assert taken.fills[0].fee == Decimal("101") * Decimal("0.5") * Decimal("0.0007")
    assert made.fills[0].fee == Decimal("101") * Decimal("0.5") * Decimal("0.0002")
    assert order.fee == taken.fills[0].fee + made.fills[0].fee


def test_fills_of_an_arrival_during_a_refused_placement_come_with_the_next_result():
    h = harness(config=PaperConfig(latency=timedelta(seconds=1)))
    h.engine.set_book(BOOK)
    order, _ = h.engine.place(account_id=h.account_id, request=buy("0.5", "101.00"))
    h.clock.advance(seconds=1)
    with pytest.raises(BelowMinimum):  # the earlier order arrives and fills inside this call
        h.engine.place(account_id=h.account_id, request=buy("0.00001", "100.00"))
    assert order.status is OrderStatus.FILLED
    reported = h.engine.advance()
    assert [f.venue_order_id for f in reported.fills] == [order.venue_order_id]
    assert reported.orders == [order]
    assert h.engine.advance().fills == []  # reported once
