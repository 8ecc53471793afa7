"""Gaps: bars missing from a stored series, found from its open times with one ``np.diff``.

A gap is the half-open range ``[start, end)`` of missing open times: ``start`` is the first
missing bar, ``end`` the next bar present (or the end of the range asked about). A data vendor's
"10:05 -> 10:15" (last bar before, first bar after) is the gap ``[10:10, 10:15)``, one bar.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from django.db import transaction

from domains.data.models import DataGap, GapState, Series
from domains.data.selectors import Moment, candle_open_times, to_ms
from dsta.kernel.errors import InvalidInput, NotFound
from dsta.kernel.market import SeriesKey, Timeframe


@dataclass(frozen=True)
class Gap:
    """Missing bars with open times in ``[start, end)`` (UTC ms)."""

    start: int
    end: int
    missing_bars: int
    state: str = GapState.MISSING.value


def _ceil(timeframe: Timeframe, ts_ms: int) -> int:
    floor = timeframe.floor(ts_ms)
    return floor if floor == ts_ms else floor + timeframe.ms


def gaps_in_open_times(
    open_times: npt.NDArray[np.int64],
    timeframe: Timeframe,
    *,
    start: int | None = None,
    end: int | None = None,
) -> list[Gap]:
    """Gaps in sorted, unique, grid-aligned open times, within ``[start, end)`` when given.

    Without ``start``/``end`` the range runs from the first to the last bar present, so only
    holes between bars count; with them, missing bars at either edge count too.
    """
    times = np.asarray(open_times, dtype=np.int64)
    if start is not None:
        times = times[times >= start]
    if end is not None:
        times = times[times < end]
    if times.size == 0 and (start is None or end is None):
        return []
    lo = int(times[0]) if start is None else _ceil(timeframe, start)
    hi = int(times[-1]) + timeframe.ms if end is None else _ceil(timeframe, end)
    if hi <= lo:
        return []
    step = timeframe.ms
    # Bracket the bars with the bar just before the range and the first bar after it.
    bounds = np.concatenate(([lo - step], times, [hi]))
    jumps = np.diff(bounds)
    at = np.flatnonzero(jumps > step)
    return [
        Gap(
            start=int(bounds[i]) + step,
            end=int(bounds[i + 1]),
            missing_bars=int(jumps[i] // step) - 1,
        )
        for i in at
    ]


def find_gaps(
    *,
    series: SeriesKey,
    start: Moment | None = None,
    end: Moment | None = None,
    record: bool = True,
) -> list[Gap]:
    """Gaps of a stored series in ``[start, end)``; recorded in ``DataGap`` unless ``record=False``.

    Recording keeps the table in step for the range looked at: new gaps are added, ``missing``
    gaps that candles have since filled are removed, and gaps a person marked
    ``venue_has_none`` or ``filled_synthetic`` keep their state.
    """
    start_ms, end_ms = to_ms(start, "start"), to_ms(end, "end")
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise InvalidInput("end must be after start", details={"start": start_ms, "end": end_ms})
    times = candle_open_times(series=series, start=start_ms, end=end_ms)
    gaps = gaps_in_open_times(times, series.timeframe, start=start_ms, end=end_ms)
    if not record:
        return gaps
    record_series = Series.objects.filter(**series.as_dict()).first()
    if record_series is None:
        return gaps
    # The range looked at: recorded gaps inside it are brought in step, others left alone.
    lo = start_ms if start_ms is not None else (int(times[0]) if times.size else None)
    hi = (
        end_ms
        if end_ms is not None
        else (int(times[-1]) + series.timeframe.ms if times.size else None)
    )
    with transaction.atomic():
        return _record(record_series, gaps, lo, hi)


def _record(series: Series, gaps: list[Gap], lo: int | None, hi: int | None) -> list[Gap]:
    existing = DataGap.objects.select_for_update().filter(series=series)
    if lo is not None:
        existing = existing.filter(end__gt=lo)
    if hi is not None:
        existing = existing.filter(start__lt=hi)
    by_start = {gap.start: gap for gap in existing}
    found = {gap.start for gap in gaps}
    stale = [
        row.pk
        for start, row in by_start.items()
        if start not in found and row.state == GapState.MISSING
    ]
    DataGap.objects.filter(pk__in=stale).delete()
    result = []
    for gap in gaps:
        row = by_start.get(gap.start)
        if row is None:
            row = DataGap.objects.create(
                series=series, start=gap.start, end=gap.end, missing_bars=gap.missing_bars
            )
        elif row.end != gap.end:
            row.end, row.missing_bars = gap.end, gap.missing_bars
            row.save(update_fields=["end", "missing_bars", "updated_at"])
        result.append(Gap(gap.start, gap.end, gap.missing_bars, row.state))
    return result


def gap_set_state(*, series: SeriesKey, start: Moment, state: str) -> Gap:
    """Mark a recorded gap, e.g. ``venue_has_none`` when the venue itself has no bars there."""
    if state not in GapState.values:
        raise InvalidInput(
            f"unknown gap state {state!r}; use one of {', '.join(GapState.values)}",
            details={"state": state},
        )
    start_ms = to_ms(start, "start")
    assert start_ms is not None  # start is required, so to_ms gave an int
    row = DataGap.objects.filter(
        series__venue=series.venue,
        series__market_type=series.market_type.value,
        series__symbol=series.symbol,
        series__price_type=series.price_type.value,
        series__timeframe=series.timeframe.code,
        start=start_ms,
    ).first()
    if row is None:
        raise NotFound(f"no recorded gap of {series} starts at {start_ms}")
    row.state = state
    row.save(update_fields=["state", "updated_at"])
    return Gap(row.start, row.end, row.missing_bars, row.state)
