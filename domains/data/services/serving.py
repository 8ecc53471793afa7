"""Candles, series and gaps as the REST endpoints and ``MarketDataApi`` serve them.

A timeframe is served from its own stored series when there is one; otherwise from the coarsest
stored timeframe of the same market it is made of, resampled on the fly (buckets lacking source
bars flagged ``complete = False``). Bars made up by synthetic gap filling are flagged per bar.

Paging: with a ``start`` (or a ``cursor``: the ``next_cursor`` of the previous page, an open
time) pages run forward, ``limit`` bars each; ``next_cursor`` is the open time of the last bar
(resampled: the last bucket) the page covered, or None when nothing follows. Without either,
the latest ``limit`` bars before ``end`` are served and ``next_cursor`` is None.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from django.db.models import Count, Q

from domains.data.api import (
    MAX_CANDLES_PER_READ,
    CandleSeries,
    GapInfo,
    SeriesSummary,
    UnknownSeries,
)
from domains.data.models import DataGap, GapState, Series
from domains.data.selectors import candles_arrays
from domains.data.services.columns import VALUE_FIELDS
from domains.data.services.gaps import find_gaps
from domains.data.services.resampling import resample
from domains.data.services.venue_feed import ceil_to, ms_to_datetime
from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import SeriesKey, Timeframe, symbol_to_url

DEFAULT_LIMIT = 1000
# Source bars one resampled page may read: 1w from 1m is 10080 bars a bucket, so such a page
# holds at most 49 buckets (the cursor gives the rest) instead of reading 50 million rows.
MAX_SOURCE_BARS = 500_000


@dataclass(frozen=True)
class PageRequest:
    """A checked candles request: open times in ms, ``limit`` within 1..5000."""

    series: SeriesKey
    start: int | None
    end: int | None
    limit: int


def page_request(
    *,
    series: SeriesKey,
    start: int | None = None,
    end: int | None = None,
    limit: int | None = None,
    cursor: int | None = None,
) -> PageRequest:
    """Check and normalise paging arguments (``InvalidInput`` for bad ones)."""
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_CANDLES_PER_READ:
        raise InvalidInput(
            f"limit must be between 1 and {MAX_CANDLES_PER_READ}",
            details={"limit": limit, "max": MAX_CANDLES_PER_READ},
        )
    if cursor is not None:
        if cursor < 0:
            raise InvalidInput("cursor must be an open time (UTC ms)", details={"cursor": cursor})
        after = cursor + series.timeframe.ms
        start = after if start is None else max(start, after)
    if start is not None and start < 0:
        raise InvalidInput("start is before 1970", details={"start": start})
    if start is not None and end is not None and end <= start:
        raise InvalidInput("end must be after start", details={"start": start, "end": end})
    return PageRequest(series=series, start=start, end=end, limit=limit)


def stored_timeframes(series: SeriesKey) -> list[Timeframe]:
    """Timeframes stored (with candles) for the market of ``series``, finest first."""
    codes = Series.objects.filter(
        venue=series.venue,
        market_type=series.market_type.value,
        symbol=series.symbol,
        price_type=series.price_type.value,
        candle_count__gt=0,
    ).values_list("timeframe", flat=True)
    return sorted(Timeframe(code) for code in codes)


def _source_series(series: SeriesKey) -> tuple[SeriesKey, Series]:
    """The stored series to read for ``series``: itself, or the coarsest finer timeframe that
    ``series.timeframe`` is made of. ``UnknownSeries`` when there is none."""
    stored = stored_timeframes(series)
    target = series.timeframe
    if target in stored:
        source = target
    else:
        usable = [tf for tf in stored if target > tf and target.is_multiple_of(tf)]
        if not usable:
            have = ", ".join(tf.code for tf in stored) or "none"
            raise UnknownSeries(
                f"no candles stored for {series} (stored timeframes of this market: {have}; "
                "a timeframe is served when it is stored or made of whole bars of one that is)",
                details={**series.as_dict(), "stored_timeframes": [tf.code for tf in stored]},
            )
        source = usable[-1]
    key = SeriesKey(series.venue, series.market_type, series.symbol, series.price_type, source)
    return key, Series.objects.get(**key.as_dict())


def _synthetic_mask(
    record: Series, open_times: npt.NDArray[np.int64], span_ms: int
) -> npt.NDArray[np.bool_]:
    """True for bars ``[t, t + span)`` overlapping a synthetically filled gap."""
    mask = np.zeros(open_times.size, dtype=bool)
    if not open_times.size:
        return mask
    ranges = DataGap.objects.filter(
        series=record,
        state=GapState.FILLED_SYNTHETIC,
        start__lt=int(open_times[-1]) + span_ms,
        end__gt=int(open_times[0]),
    ).values_list("start", "end")
    for start, end in ranges:
        mask |= (open_times < end) & (open_times + span_ms > start)
    return mask


def _direct(request: PageRequest, record: Series) -> tuple[dict[str, Any], int | None]:
    fetch = request.limit + 1 if request.start is not None else request.limit
    arrays = candles_arrays(
        series=request.series, start=request.start, end=request.end, limit=fetch
    )
    next_cursor = None
    if arrays["open_time"].size > request.limit:
        arrays = {name: values[: request.limit] for name, values in arrays.items()}
        next_cursor = int(arrays["open_time"][-1])
    arrays["complete"] = np.ones(arrays["open_time"].size, dtype=bool)
    return arrays, next_cursor


def _resampled(
    request: PageRequest, source: SeriesKey, record: Series
) -> tuple[dict[str, Any], int | None]:
    target = request.series.timeframe
    ratio = target.ms // source.timeframe.ms
    buckets = max(1, min(request.limit, MAX_SOURCE_BARS // ratio))
    stop = ceil_to(target, request.end) if request.end is not None else None
    next_cursor = None
    if request.start is not None:
        window_start = ceil_to(target, request.start)
        window_end = window_start + buckets * target.ms
        if stop is not None:
            window_end = min(window_end, stop)
    else:
        last = record.last_open_time if record.last_open_time is not None else 0
        window_end = ceil_to(target, last + source.timeframe.ms)
        if stop is not None:
            window_end = min(window_end, stop)
        window_start = window_end - buckets * target.ms
    arrays = candles_arrays(series=source, start=window_start, end=max(window_start, window_end))
    if request.start is not None and window_end > window_start:
        beyond = candles_arrays(series=source, start=window_end, end=request.end, limit=1)
        if beyond["open_time"].size:
            next_cursor = window_end - target.ms
    index = pd.DatetimeIndex(pd.to_datetime(arrays["open_time"], unit="ms", utc=True))
    frame = pd.DataFrame({name: arrays[name] for name in VALUE_FIELDS}, index=index)
    bars = resample(frame, source.timeframe, target)
    times = np.asarray(bars.index.as_unit("ms").asi8, dtype=np.int64)
    out: dict[str, Any] = {"open_time": times}
    for name in VALUE_FIELDS:
        out[name] = bars[name].to_numpy(dtype=np.float64)
    out["complete"] = bars["complete"].to_numpy(dtype=bool)
    return out, next_cursor


def _floats(values: npt.NDArray[np.float64]) -> list[float | None]:
    return [None if math.isnan(value) else value for value in values.tolist()]


def candles_page(request: PageRequest) -> CandleSeries:
    """One page of candles (see the module docstring)."""
    source, record = _source_series(request.series)
    if source.timeframe == request.series.timeframe:
        arrays, next_cursor = _direct(request, record)
    else:
        arrays, next_cursor = _resampled(request, source, record)
    times: npt.NDArray[np.int64] = arrays["open_time"]
    synthetic_bars = _synthetic_mask(record, times, request.series.timeframe.ms)
    series = request.series
    return CandleSeries(
        venue=series.venue,
        market_type=series.market_type.value,
        symbol=series.symbol,
        price_type=series.price_type.value,
        timeframe=series.timeframe.code,
        source_timeframe=source.timeframe.code,
        synthetic=bool(record.is_synthetic or synthetic_bars.any()),
        open_time=times.tolist(),
        open=arrays["open"].tolist(),
        high=arrays["high"].tolist(),
        low=arrays["low"].tolist(),
        close=arrays["close"].tolist(),
        volume=_floats(arrays["volume"]),
        quote_volume=_floats(arrays["quote_volume"]),
        trades=[None if value is None else int(value) for value in _floats(arrays["trades"])],
        complete=arrays["complete"].tolist(),
        synthetic_bars=synthetic_bars.tolist(),
        next_cursor=next_cursor,
    )


def series_summaries(
    *,
    venue: str | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    market_type: str | None = None,
    price_type: str | None = None,
    synthetic: bool | None = None,
) -> list[SeriesSummary]:
    """Stored series matching every filter given, ordered by market then timeframe length."""
    rows = Series.objects.annotate(
        missing_gaps=Count("gaps", filter=Q(gaps__state=GapState.MISSING))
    )
    filters = {
        "venue": venue,
        "symbol": symbol,
        "timeframe": timeframe,
        "market_type": market_type,
        "price_type": price_type,
        "is_synthetic": synthetic,
    }
    rows = rows.filter(**{name: value for name, value in filters.items() if value is not None})
    summaries = [_summary(row) for row in rows]
    return sorted(
        summaries,
        key=lambda s: (s.venue, s.symbol, s.market_type, s.price_type, Timeframe(s.timeframe)),
    )


def _summary(row: Series) -> SeriesSummary:
    step = Timeframe(row.timeframe).ms
    expected = (
        (row.last_open_time - row.first_open_time) // step + 1
        if row.first_open_time is not None and row.last_open_time is not None
        else 0
    )
    return SeriesSummary(
        venue=row.venue,
        market_type=row.market_type,
        symbol=row.symbol,
        url_symbol=symbol_to_url(row.symbol),
        price_type=row.price_type,
        timeframe=row.timeframe,
        first_open_time=_when(row.first_open_time),
        last_open_time=_when(row.last_open_time),
        candle_count=row.candle_count,
        expected_count=expected,
        coverage=row.candle_count / expected if expected else 0.0,
        open_gaps=int(getattr(row, "missing_gaps", 0)),
        synthetic=row.is_synthetic,
        keep_up=row.keep_up,
    )


def _when(ts_ms: int | None) -> Any:
    return None if ts_ms is None else ms_to_datetime(ts_ms)


def series_gaps(
    *, series: SeriesKey, start: int | None = None, end: int | None = None
) -> list[GapInfo]:
    """Missing ranges of a stored series, measured now, with each one's recorded state (a read:
    the gap table is not written; ``find_gaps`` and gap filling keep it)."""
    record = Series.objects.filter(**series.as_dict()).first()
    if record is None:
        raise UnknownSeries(f"no candles stored for {series}", details=series.as_dict())
    if start is not None and end is not None and end <= start:
        raise InvalidInput("end must be after start", details={"start": start, "end": end})
    gaps = find_gaps(series=series, start=start, end=end, record=False)
    recorded = DataGap.objects.filter(series=record)
    if start is not None:
        recorded = recorded.filter(end__gt=start)
    if end is not None:
        recorded = recorded.filter(start__lt=end)
    rows = list(recorded.values_list("start", "end", "missing_bars", "state"))
    states = {row[0]: row[3] for row in rows}
    found = [
        (gap.start, gap.end, gap.missing_bars, states.get(gap.start, GapState.MISSING.value))
        for gap in gaps
    ]
    # Filled ranges hold bars now, so measuring misses them; they are listed from the record.
    filled = [row for row in rows if row[3] == GapState.FILLED_SYNTHETIC]
    return [
        GapInfo(
            start=ms_to_datetime(gap_start),
            end=ms_to_datetime(gap_end),
            missing_bars=missing,
            state=state,
        )
        for gap_start, gap_end, missing, state in sorted(found + filled)
    ]
