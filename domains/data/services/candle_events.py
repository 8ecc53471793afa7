"""Building and publishing the data domain's candle events from stored columns."""

import math

from domains.data.events import CandleClosed, CandleUpdated
from domains.data.services.columns import CandleColumns
from domains.data.services.venue_feed import ms_to_datetime
from dsta.kernel.bus import publish
from dsta.kernel.market import SeriesKey


def _volume(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def closed_event(
    series: SeriesKey, columns: CandleColumns, row: int, *, synthetic: bool = False
) -> CandleClosed:
    """``CandleClosed`` for row ``row`` of ``columns``."""
    open_time = int(columns.open_time[row])
    return CandleClosed(
        **series.as_dict(),
        open_time=ms_to_datetime(open_time),
        open_time_ms=open_time,
        open=float(columns.open[row]),
        high=float(columns.high[row]),
        low=float(columns.low[row]),
        close=float(columns.close[row]),
        volume=_volume(float(columns.volume[row])),
        synthetic=synthetic,
    )


def publish_closed(series: SeriesKey, columns: CandleColumns, *, synthetic: bool = False) -> int:
    """Publish ``CandleClosed`` for every row, in open-time order (durable: call it inside the
    transaction that stored the rows, so the events exist exactly when the candles do)."""
    for row in range(len(columns)):
        publish(closed_event(series, columns, row, synthetic=synthetic))
    return len(columns)


def updated_event(
    series: SeriesKey,
    *,
    open_time_ms: int,
    open_: float,
    high: float,
    low: float,
    close: float,
    volume: float | None,
) -> CandleUpdated:
    """``CandleUpdated`` for the in-progress bar of ``series`` opened at ``open_time_ms``."""
    return CandleUpdated(
        **series.as_dict(),
        open_time=ms_to_datetime(open_time_ms),
        open_time_ms=open_time_ms,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        closes_at=ms_to_datetime(open_time_ms + series.timeframe.ms),
    )
