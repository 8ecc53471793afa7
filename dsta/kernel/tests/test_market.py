from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import (
    MarketType,
    PriceType,
    SeriesKey,
    Timeframe,
    symbol_from_url,
    symbol_to_url,
)


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("code", "duration"),
    [
        ("1m", 60_000),
        ("5m", 300_000),
        ("15m", 900_000),
        ("30m", 1_800_000),
        ("1h", 3_600_000),
        ("4h", 14_400_000),
        ("8h", 28_800_000),
        ("1d", 86_400_000),
        ("1w", 604_800_000),
    ],
)
def test_timeframes_parse_to_their_duration(code, duration):
    assert Timeframe.parse(code).ms == duration
    assert str(Timeframe(code)) == code


@pytest.mark.parametrize("bad", ["", "1M", "7m", "m", "1y", "60s", "1H", None, 5])
def test_unknown_timeframes_are_invalid_input(bad):
    with pytest.raises(InvalidInput, match="timeframe"):
        Timeframe(bad)


def test_months_are_refused_with_the_reason():
    with pytest.raises(InvalidInput, match="not a fixed duration"):
        Timeframe("1M")


def test_floor_is_utc_aligned_and_weeks_open_on_monday():
    moment = ms(2024, 5, 16, 13, 47)  # a Thursday
    assert Timeframe("1h").floor(moment + 123) == ms(2024, 5, 16, 13)
    assert Timeframe("4h").floor(moment) == ms(2024, 5, 16, 12)
    assert Timeframe("1d").floor(moment) == ms(2024, 5, 16)
    assert Timeframe("1w").floor(moment) == ms(2024, 5, 13)  # Monday
    assert Timeframe("1w").floor(ms(2024, 5, 13)) == ms(2024, 5, 13)
    assert Timeframe("1w").floor(ms(2024, 5, 12, 23, 59)) == ms(2024, 5, 6)
    assert Timeframe("1w").floor(0) == ms(1969, 12, 29)  # before the first Monday after the epoch
    assert Timeframe("1w").is_aligned(ms(2024, 5, 13))
    assert not Timeframe("1w").is_aligned(ms(2024, 5, 16))


@settings(max_examples=50)
@given(st.integers(min_value=0, max_value=4_102_444_800_000), st.sampled_from(Timeframe.SUPPORTED))
def test_floor_lands_on_the_grid_at_or_before(ts, code):
    tf = Timeframe(code)
    floor = tf.floor(ts)
    assert floor <= ts < floor + tf.ms
    assert tf.is_aligned(floor)
    if code == "1w":
        assert datetime.fromtimestamp(floor / 1000, tz=UTC).weekday() == 0


def test_timeframes_compare_by_duration():
    assert Timeframe("1m") < Timeframe("5m") < Timeframe("1h") < Timeframe("1d") < Timeframe("1w")
    assert max(Timeframe("4h"), Timeframe("30m")) == Timeframe("4h")
    assert Timeframe("1h") == Timeframe.parse("1h")
    assert hash(Timeframe("1h")) == hash(Timeframe.parse("1h"))
    assert Timeframe("1h") != "1h"


def test_is_multiple_of():
    assert Timeframe("1h").is_multiple_of(Timeframe("1m"))
    assert Timeframe("1h").is_multiple_of(Timeframe("15m"))
    assert Timeframe("1w").is_multiple_of(Timeframe("1d"))
    assert Timeframe("1w").is_multiple_of(Timeframe("8h"))
    assert Timeframe("1d").is_multiple_of(Timeframe("8h"))
    assert not Timeframe("1w").is_multiple_of(Timeframe("3d"))
    assert not Timeframe("1h").is_multiple_of(Timeframe("8h"))
    assert not Timeframe("5m").is_multiple_of(Timeframe("3m"))


@pytest.mark.parametrize(
    ("symbol", "url"),
    [
        ("BTC/USDT", "BTC-USDT"),
        ("BTC/USDT:USDT", "BTC-USDT:USDT"),
        ("BTC/USD:BTC", "BTC-USD:BTC"),
        ("BTC/USDT:USDT-240329", "BTC-USDT:USDT-240329"),
        ("1000PEPE/USDT", "1000PEPE-USDT"),
    ],
)
def test_symbols_round_trip_through_their_url_form(symbol, url):
    assert symbol_to_url(symbol) == url
    assert symbol_from_url(url) == symbol
    assert symbol_from_url(symbol) == symbol  # a ccxt symbol passes through


@settings(max_examples=50)
@given(
    st.from_regex(r"[A-Z0-9]{1,8}", fullmatch=True),
    st.from_regex(r"[A-Z]{2,5}", fullmatch=True),
    st.one_of(st.none(), st.from_regex(r"[A-Z]{2,5}", fullmatch=True)),
)
def test_url_form_round_trips_for_any_codes(base, quote, settle):
    symbol = f"{base}/{quote}" + (f":{settle}" if settle else "")
    assert symbol_from_url(symbol_to_url(symbol)) == symbol


@pytest.mark.parametrize(
    "bad", ["BTCUSDT", "BTC/", "/USDT", "BTC USDT", "BTC//USDT", "BTC-USDT-X/Y", ""]
)
def test_bad_symbols_are_invalid_input(bad):
    with pytest.raises(InvalidInput, match="symbol"):
        symbol_to_url(bad)


def test_series_key_coerces_and_validates():
    key = SeriesKey.of("binance", "swap", "BTC/USDT:USDT", "mark", "1h")
    assert key.market_type is MarketType.SWAP
    assert key.price_type is PriceType.MARK
    assert key.timeframe == Timeframe("1h")
    assert key.url_symbol == "BTC-USDT:USDT"
    assert key.as_dict() == {
        "venue": "binance",
        "market_type": "swap",
        "symbol": "BTC/USDT:USDT",
        "price_type": "mark",
        "timeframe": "1h",
    }
    assert key == SeriesKey.of(
        "binance", MarketType.SWAP, "BTC/USDT:USDT", PriceType.MARK, Timeframe("1h")
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Binance", "spot", "BTC/USDT", "trades", "1m"), "venue"),
        (("binance", "margin", "BTC/USDT", "trades", "1m"), "market_type"),
        (("binance", "spot", "BTC/USDT", "last", "1m"), "price_type"),
        (("binance", "spot", "BTC/USDT", "trades", "2m"), "timeframe"),
        (("binance", "spot", "BTC/USDT:USDT", "trades", "1m"), "derivative"),
        (("binance", "swap", "BTC/USDT", "trades", "1m"), "settle currency"),
        (("binance", "swap", "BTC/USDT:USDT-240329", "trades", "1m"), "future"),
        (("binance", "future", "BTC/USDT:USDT", "trades", "1m"), "expiry"),
        (("binance", "spot", "BTC/USDT", "mark", "1m"), "derivatives"),
        (("binance", "future", "BTC/USDT:USDT-240329", "funding_rate", "8h"), "swaps"),
    ],
)
def test_series_key_refuses_inconsistent_parts(args, message):
    with pytest.raises(InvalidInput, match=message):
        SeriesKey.of(*args)
