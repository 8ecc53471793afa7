"""Symbol mapping and precision on the recorded market metadata of all three venues."""

from decimal import Decimal

import ccxt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.exchange.api import MarketType, OrderRequest, OrderSide, OrderType, UnknownSymbol
from domains.exchange.services.precision import prepare_order, round_amount, round_price
from domains.exchange.tests.adapters.conftest import Rig

# The venue's own market id for each unified symbol (what goes on the wire).
VENUE_IDS = {
    "binance": {"BTC/USDT": "BTCUSDT", "ETH/USDT": "ETHUSDT", "LTC/USDT": "LTCUSDT"},
    "gateio": {"BTC/USDT": "BTC_USDT", "ETH/USDT": "ETH_USDT", "LTC/USDT": "LTC_USDT"},
    "htx": {"BTC/USDT": "btcusdt", "ETH/USDT": "ethusdt", "LTC/USDT": "ltcusdt"},
}
# Worked examples from ccxt's recorded requests and markets/SOURCES.md:
# (symbol, amount in, amount out, price in, price out).
ROUNDING = {
    "binance": ("LTC/USDT", "0.4234234234", "0.423", "55.324242343", "55.32"),
    "gateio": ("BTC/USDT", "0.00012345678", "0.000123", "55000.123", "55000.1"),
    "htx": ("BTC/USDT", "0.00077656", "0.000776", "55000.123", "55000.12"),
}


def test_unified_symbols_map_to_the_venue_ids(rig: Rig):
    for symbol, venue_id in VENUE_IDS[rig.venue].items():
        market = rig.adapter.market(symbol)
        assert market.venue_symbol == venue_id
        assert (market.base, market.quote) == tuple(symbol.split("/"))
        assert market.market_type is MarketType.SPOT
    swaps = [m for m in rig.adapter.markets() if m.symbol == "BTC/USDT:USDT"]
    assert [m.market_type for m in swaps] == [MarketType.SWAP]
    with pytest.raises(UnknownSymbol):
        rig.adapter.market("NOPE/USDT")
    assert rig.fake.requests == []  # all of it from the recorded metadata, offline


def test_minimums_come_from_the_venue_metadata(rig: Rig):
    market = rig.adapter.market("BTC/USDT")
    expected = {"binance": Decimal(5), "gateio": Decimal(3), "htx": Decimal(1)}[rig.venue]
    assert market.min_notional == expected
    assert market.min_amount is not None
    assert market.amount_step > 0
    assert market.price_tick > 0


def test_recorded_rounding_examples(rig: Rig):
    symbol, amount_in, amount_out, price_in, price_out = ROUNDING[rig.venue]
    market = rig.adapter.market(symbol)
    request = OrderRequest(
        symbol=symbol,
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=Decimal(amount_in),
        price=Decimal(price_in),
    )
    if rig.venue == "binance":  # 0.423 * 55.32 is under Binance's 5 USDT minimum
        request = OrderRequest(**{**request.__dict__, "amount": Decimal("1.4234234234")})
        amount_out = "1.423"
    elif rig.venue == "gateio":  # 0.000123 BTC at 55000 is under Gate's 3 USDT minimum
        request = OrderRequest(**{**request.__dict__, "amount": Decimal("0.00112345678")})
        amount_out = "0.001123"
    prepared = prepare_order(market, request)
    assert prepared.amount == Decimal(amount_out)
    assert prepared.price == Decimal(price_out)
    # ccxt itself agrees, on the same market.
    assert rig.exchange.amount_to_precision(symbol, float(request.amount)) == amount_out
    assert rig.exchange.price_to_precision(symbol, float(request.price or 0)) == price_out


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amount=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(500), places=9),
    price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(90_000), places=7),
)
def test_our_rounding_equals_ccxt_on_every_spot_market(rig_markets, amount, price):
    for exchange, market in rig_markets:
        for ours, theirs, value in (
            (round_amount, exchange.amount_to_precision, amount),
            (round_price, exchange.price_to_precision, price),
        ):
            try:
                expected = Decimal(theirs(market.symbol, str(value)))
            except ccxt.InvalidOrder:  # ccxt refuses a value that rounds to zero
                expected = Decimal(0)
            assert ours(market, value) == expected, (market.symbol, value)


@pytest.fixture
def rig_markets(rig: Rig):
    """(ccxt exchange, our MarketInfo) for each spot market of the venue (read-only)."""
    return [
        (rig.exchange, market)
        for market in rig.adapter.markets()
        if market.market_type is MarketType.SPOT
    ]


TICKER_PATHS = {
    "binance": ("/api/v3/ticker/24hr", "symbol", "BTCUSDT"),
    "gateio": ("/api/v4/spot/tickers", "currency_pair", "BTC_USDT"),
    "htx": ("/market/detail/merged", "symbol", "btcusdt"),
}


def test_recorded_tickers_parse_into_decimals_with_the_venue_symbol_on_the_wire(rig: Rig):
    [recorded] = [r for r in rig.responses_for("fetchTicker") if r["input"] == ["BTC/USDT"]]
    rig.fake.respond(recorded["httpResponse"])
    ticker = rig.live.ticker("BTC/USDT")
    path, field, venue_id = TICKER_PATHS[rig.venue]
    sent = rig.fake.last()
    assert (sent.path, sent.query[field]) == (path, venue_id)
    parsed = recorded["parsedResponse"]
    assert ticker.symbol == "BTC/USDT"
    assert ticker.bid == Decimal(str(parsed["bid"]))
    assert ticker.ask == Decimal(str(parsed["ask"]))
    assert ticker.last == Decimal(str(parsed["last"]))
