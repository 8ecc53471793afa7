"""Candles from a venue, through the exchange domain's door (``exchange_api().ohlcv``).

The exchange api serves last-trade candles only (it has no price-type argument), so mark,
index and funding-rate series cannot be fetched here: they are imported from files. Candles
come back oldest first, ``limit`` at most, from ``since`` on (ccxt's ``fetch_ohlcv``); a venue
includes the bar still in progress, which :func:`closed_in_range` leaves out: it is not bad
data, only not finished yet.
"""

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from domains.data.services.columns import CandleColumns, from_arrays
from domains.exchange.api import Candle, UnknownVenue, Venue, exchange_api
from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import PriceType, SeriesKey, Timeframe

# Candles per venue request. Binance serves 1000 per kline request (1500 on futures), Gate
# 1000, HTX 2000: 1000 works everywhere.
PAGE_LIMIT = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def wall_clock_ms() -> int:
    """Now in UTC milliseconds."""
    return int(time.time() * 1000)


def ms_to_datetime(ts_ms: int) -> datetime:
    """UTC datetime of a millisecond timestamp."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC)


def datetime_to_ms(moment: datetime) -> int:
    """Milliseconds of an aware datetime (a naive one is read as UTC, as venues mean it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def ceil_to(timeframe: Timeframe, ts_ms: int) -> int:
    """The first bar open time at or after ``ts_ms``."""
    floor = timeframe.floor(ts_ms)
    return floor if floor == ts_ms else floor + timeframe.ms


def require_fetchable(series: SeriesKey) -> None:
    """Refuse series the exchange api cannot serve: other price types, unknown venues."""
    if series.price_type is not PriceType.TRADES:
        raise InvalidInput(
            f"the exchange serves trade candles only; {series.price_type.value} series are "
            "imported from files (manage.py import_candles)",
            details={"price_type": series.price_type.value},
        )
    venues = [venue.value for venue in Venue if venue is not Venue.PAPER]
    if series.venue not in venues:
        raise UnknownVenue(
            f"unknown venue {series.venue!r}: candles are fetched from {', '.join(venues)}",
            details={"venue": series.venue, "supported": venues},
        )


def fetch_page(*, series: SeriesKey, since_ms: int, limit: int = PAGE_LIMIT) -> list[Candle]:
    """One venue request: up to ``limit`` candles from ``since_ms`` on, oldest first."""
    return exchange_api().ohlcv(
        venue=series.venue,
        symbol=series.symbol,
        timeframe=series.timeframe.code,
        since=ms_to_datetime(since_ms),
        limit=limit,
    )


def closed_in_range(
    candles: Sequence[Candle], *, timeframe: Timeframe, start_ms: int, stop_ms: int, now_ms: int
) -> CandleColumns:
    """The candles with open times in ``[start_ms, stop_ms)`` that have closed by ``now_ms``,
    as columns sorted by open time (the store checks everything else)."""
    times = np.fromiter(
        (datetime_to_ms(candle.open_time) for candle in candles), dtype=np.int64, count=len(candles)
    )
    keep = (times >= start_ms) & (times < stop_ms) & (times + timeframe.ms <= now_ms)
    picked = [candle for candle, kept in zip(candles, keep, strict=True) if kept]
    columns = from_arrays(
        times[keep],
        {
            "open": [candle.open for candle in picked],
            "high": [candle.high for candle in picked],
            "low": [candle.low for candle in picked],
            "close": [candle.close for candle in picked],
            "volume": [candle.volume for candle in picked],
        },
    )
    order = np.argsort(columns.open_time, kind="stable")
    return columns.take(order)
