"""The MarketDataApi contract (``data.market``), run in-process and against a second process
over HTTP: same DTOs, same values, same errors."""

from datetime import UTC, datetime

import numpy as np
import pytest

from domains.data.api import CandleSeries, GapInfo, MarketDataApi, SeriesSummary, UnknownSeries
from domains.data.services.store import candles_upsert
from domains.data.tests.factories import T0, candles, series_key
from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import SeriesKey
from dsta.kernel.rpc.testing import BINDING_PARAMS, RpcBinder

pytestmark = pytest.mark.django_db(transaction=True)
MINUTE = 60_000


@pytest.fixture(params=BINDING_PARAMS)
def market(request: pytest.FixtureRequest, rpc_binding: RpcBinder) -> MarketDataApi:
    return rpc_binding(MarketDataApi, request.param)


@pytest.fixture
def stored() -> SeriesKey:
    series = series_key("1m")
    frame = candles(20, seed=5).drop(index=[4]).reset_index(drop=True)
    candles_upsert(series=series, frame=frame)
    return series


def test_candles_come_column_wise_and_convert_to_numpy(
    market: MarketDataApi, stored: SeriesKey
) -> None:
    page = market.candles(
        venue="binance",
        symbol=stored.url_symbol,
        timeframe="1m",
        start=datetime.fromtimestamp(T0 / 1000, tz=UTC),
        limit=5,
    )
    assert isinstance(page, CandleSeries)
    assert page.open_time == [T0 + i * MINUTE for i in (0, 1, 2, 3, 5)]
    assert page.next_cursor == T0 + 5 * MINUTE
    assert page.complete == [True] * 5
    assert page.synthetic_bars == [False] * 5
    arrays = page.as_arrays()
    assert arrays["open_time"].dtype == np.int64
    assert arrays["close"].dtype == np.float64
    resampled = market.candles(venue="binance", symbol=stored.symbol, timeframe="5m", limit=10)
    assert resampled.resampled
    assert resampled.source_timeframe == "1m"
    assert resampled.complete == [False, True, True, True]


def test_series_and_gaps(market: MarketDataApi, stored: SeriesKey) -> None:
    [summary] = market.series(symbol=stored.url_symbol)
    assert isinstance(summary, SeriesSummary)
    assert (summary.candle_count, summary.expected_count) == (19, 20)
    assert summary.first_open_time == datetime(2024, 1, 1, tzinfo=UTC)
    [gap] = market.gaps(venue="binance", symbol=stored.symbol, timeframe="1m")
    assert gap == GapInfo(
        start=datetime(2024, 1, 1, 0, 4, tzinfo=UTC),
        end=datetime(2024, 1, 1, 0, 5, tzinfo=UTC),
        missing_bars=1,
        state="missing",
    )


def test_errors_cross_the_wire_as_themselves(market: MarketDataApi) -> None:
    with pytest.raises(UnknownSeries) as unknown:
        market.candles(venue="binance", symbol="NONE-USDT", timeframe="1h")
    assert unknown.value.code == "unknown_series"
    with pytest.raises(InvalidInput, match="limit"):
        market.candles(venue="binance", symbol="NONE-USDT", timeframe="1h", limit=9999)
    with pytest.raises(InvalidInput, match="unknown timeframe"):
        market.gaps(venue="binance", symbol="BTC/USDT", timeframe="2m")
