"""Invariants of the paper engine under random sequences of orders, books, candles and time.

After every step: no balance is negative; no order fills more than its size; the fills of an
order sum to its filled amount and its fees; each fill's fee is its notional times exactly one
fee rate (charged once); locked funds equal what working orders still reserve (released on
cancel, fill and expiry); and every asset is conserved (start + fill flows = free + locked).
"""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from domains.exchange.api import (
    Candle,
    ExchangeFailure,
    Fill,
    Liquidity,
    OrderRequest,
    OrderSide,
    OrderType,
    TimeInForce,
)
from domains.exchange.services.paper.state import AssetBalance, PaperAccountState, PaperConfig
from domains.exchange.tests.factories import T0, book, harness

START = {"USDT": Decimal("2000"), "BTC": Decimal("5")}

cents = st.integers(min_value=9_000, max_value=11_000).map(lambda c: Decimal(c) / 100)
# Mostly tradable sizes (>= 0.06 BTC clears the 5 USDT minimum), sometimes dust.
amounts = st.one_of(
    st.integers(min_value=6_000, max_value=300_000),
    st.integers(min_value=6_000, max_value=300_000),
    st.integers(min_value=1, max_value=5_000),
).map(lambda a: Decimal(a) / 100_000)

configs = st.builds(
    PaperConfig,
    maker_fee=st.sampled_from([Decimal(0), Decimal("0.0002"), Decimal("0.001")]),
    taker_fee=st.sampled_from([Decimal(0), Decimal("0.0007"), Decimal("0.001")]),
    latency=st.sampled_from([timedelta(0), timedelta(milliseconds=100)]),
    slippage_bps=st.sampled_from([Decimal(0), Decimal(5), Decimal(50)]),
    market_buy_buffer_bps=st.sampled_from([Decimal(0), Decimal(100)]),
)


@st.composite
def books(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
    mid = draw(st.integers(min_value=9_500, max_value=10_500))
    spread = draw(st.integers(min_value=1, max_value=200))
    depth = draw(st.integers(min_value=1, max_value=5))
    bids = [(str(Decimal(mid - spread - 10 * i) / 100), str(draw(amounts))) for i in range(depth)]
    asks = [(str(Decimal(mid + spread + 10 * i) / 100), str(draw(amounts))) for i in range(depth)]
    return ("book", bids, asks)


candles = st.tuples(
    st.just("candle"),
    st.integers(min_value=9_000, max_value=11_000),
    st.integers(min_value=0, max_value=300),
    st.integers(min_value=0, max_value=300),
    st.integers(min_value=0, max_value=500),
)
places = st.tuples(
    st.just("place"),
    st.integers(min_value=0, max_value=1),  # which account
    st.sampled_from(list(OrderSide)),
    st.sampled_from(list(OrderType)),
    st.sampled_from(list(TimeInForce)),
    amounts,
    cents,
    cents,
)
cancels = st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=50))
ticks = st.tuples(st.just("tick"), st.integers(min_value=1, max_value=200))
# Each round: one order, then one market event (book, candle, cancel or time passing).
steps = st.lists(
    st.tuples(places, st.one_of(books(), candles, cancels, ticks)), min_size=3, max_size=15
).map(lambda rounds: [step for pair in rounds for step in pair])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config_a=configs, config_b=configs, first_book=books(), script=steps)
def test_engine_invariants_hold_after_every_step(config_a, config_b, first_book, script):
    h = harness(balances={k: str(v) for k, v in START.items()}, config=config_a)
    engine = h.engine
    other = PaperAccountState(
        account_id=engine.new_id(),  # type: ignore[arg-type]
        config=config_b,
        balances={asset: AssetBalance(free=amount) for asset, amount in START.items()},
    )
    engine.add_account(other)
    account_ids = [h.account_id, other.account_id]
    fills: list[Fill] = []
    placed: list[tuple[object, str]] = []

    for step in [first_book, *script]:
        kind = step[0]
        if kind == "book":
            h.clock.advance(milliseconds=1)
            fills += engine.set_book(book(bids=step[1], asks=step[2], at=h.clock.now)).fills
        elif kind == "candle":
            _, close, up, down, volume = step
            candle = Candle(
                open_time=T0,
                open=close / 100,
                high=(close + up) / 100,
                low=(close - down) / 100,
                close=close / 100,
                volume=volume / 100,
            )
            fills += engine.apply_candle(symbol="BTC/USDT", candle=candle).fills
        elif kind == "place":
            _, who, side, order_type, tif, amount, price, stop = step
            try:
                request = OrderRequest(
                    symbol="BTC/USDT",
                    side=side,
                    type=order_type,
                    amount=amount,
                    price=None if order_type is OrderType.MARKET else price,
                    stop_price=stop if order_type is OrderType.STOP_LIMIT else None,
                    time_in_force=TimeInForce.GTC if order_type is OrderType.MARKET else tif,
                )
                order, result = engine.place(account_id=account_ids[who], request=request)
            except ExchangeFailure as refused:
                event(f"refused: {refused.code}")
                continue
            placed.append((order.account_id, order.client_order_id))
            fills += result.fills
        elif kind == "cancel" and placed:
            account_id, client_order_id = placed[step[1] % len(placed)]
            fills += engine.cancel(account_id=account_id, client_order_id=client_order_id)[1].fills
        elif kind == "tick":
            h.clock.advance(milliseconds=step[1])
            fills += engine.advance().fills
        check_invariants(engine, fills)
    event(f"fills: {min(len(fills), 5)}+" if fills else "no fills")


def check_invariants(engine, fills: list[Fill]) -> None:
    assert len({f.fill_id for f in fills}) == len(fills), "a fill was reported twice"
    by_order: dict[str, list[Fill]] = defaultdict(list)
    for fill in fills:
        by_order[fill.venue_order_id or ""].append(fill)
    reserved: dict[tuple[object, str], Decimal] = defaultdict(Decimal)
    for order in engine.orders.values():
        own = by_order.get(order.venue_order_id, [])
        assert 0 <= order.filled <= order.amount, "filled beyond the order's size"
        assert sum((f.amount for f in own), Decimal(0)) == order.filled
        assert sum((f.fee for f in own), Decimal(0)) == order.fee, "fee charged other than once"
        config = engine.accounts[order.account_id].config
        for fill in own:
            rate = config.maker_fee if fill.liquidity is Liquidity.MAKER else config.taker_fee
            assert fill.fee == fill.price * fill.amount * rate
            assert fill.amount > 0
            if order.price is not None:  # never a worse price than the limit
                assert (
                    fill.price <= order.price
                    if order.side is OrderSide.BUY
                    else fill.price >= order.price
                )
        assert order.reserved >= 0
        if order.status.is_final:
            assert order.reserved == 0, "a finished order still holds funds"
        reserved[(order.account_id, order.reserve_asset)] += order.reserved

    for account in engine.accounts.values():
        flows: dict[str, Decimal] = defaultdict(Decimal)
        for fill in fills:
            if fill.account_id != account.account_id:
                continue
            notional = fill.price * fill.amount
            if fill.side is OrderSide.BUY:
                flows["BTC"] += fill.amount
                flows["USDT"] -= notional + fill.fee
            else:
                flows["BTC"] -= fill.amount
                flows["USDT"] += notional - fill.fee
        for asset in ("BTC", "USDT"):
            balance = account.balance(asset)
            assert balance.free >= 0, f"{asset} free went negative"
            assert balance.locked >= 0, f"{asset} locked went negative"
            assert balance.locked == reserved[(account.account_id, asset)], "lock not released"
            assert balance.free + balance.locked == START[asset] + flows[asset], "not conserved"
