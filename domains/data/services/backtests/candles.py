"""Candles for a backtest: the range check (empty, gapped) and the float64 bars the engine reads.

Several series run on one time axis, so they are trimmed to the range they all cover. A missing
bar is refused unless the run allows gaps (``allow_gaps``): an engine that steps from bar to
bar would silently treat a hole as one bar of time. With ``allow_gaps`` the bars are used as
stored (several series: only the open times every series has). The check runs twice: in the
request (a cheap count per series) and again in the job, on the candles actually loaded.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from domains.data.selectors import candle_open_times, candles_arrays
from domains.data.services.backtests.errors import EmptyRange, GappedRange, from_quant
from domains.data.services.backtests.selectors import coverage
from domains.data.services.gaps import Gap, gaps_in_open_times
from domains.data.services.validation import iso
from dsta.kernel.market import SeriesKey
from dsta.quant import Bars, QuantError

# How many gaps an error or a manifest lists in full (the count is always complete).
GAPS_LISTED = 20


@dataclass(frozen=True)
class LoadedBars:
    """The bars of a run and where they came from."""

    bars: Bars
    first_ms: int
    last_ms: int
    timeframe_ms: int
    digest: str
    gaps: list[dict[str, Any]] = field(default_factory=list)
    dropped_bars: int = 0

    @property
    def end_ms(self) -> int:
        """The exclusive end of the range used: the last bar's open time plus one bar."""
        return self.last_ms + self.timeframe_ms


def _label(key: SeriesKey) -> str:
    return f"{key.venue} {key.symbol} {key.timeframe.code}"


def symbol_names(series: Sequence[SeriesKey]) -> tuple[str, ...]:
    """Column names of the bars: the symbol, or ``venue:symbol`` when two venues share one."""
    symbols = [key.symbol for key in series]
    if len(set(symbols)) == len(symbols):
        return tuple(symbols)
    return tuple(f"{key.venue}:{key.symbol}" for key in series)


def _gap_rows(key: SeriesKey, gaps: list[Gap]) -> list[dict[str, Any]]:
    return [
        {
            "series": _label(key),
            "start": iso(gap.start),
            "end": iso(gap.end),
            "start_ms": gap.start,
            "end_ms": gap.end,
            "missing_bars": gap.missing_bars,
        }
        for gap in gaps
    ]


def _gapped(found: list[dict[str, Any]]) -> GappedRange:
    missing = sum(row["missing_bars"] for row in found)
    where = "; ".join(
        f"{row['series']}: {row['start']} to {row['end']} ({row['missing_bars']} bars)"
        for row in found[:5]
    )
    more = f"; and {len(found) - 5} more" if len(found) > 5 else ""
    return GappedRange(
        f"the range has {len(found)} gap(s), {missing} missing bar(s): {where}{more}. "
        "Fill them (market-data/gaps/fill), choose another range, or pass allow_gaps=true",
        details={"gap_count": len(found), "missing_bars": missing, "gaps": found[:GAPS_LISTED]},
    )


def _empty(key: SeriesKey, start_ms: int | None, end_ms: int | None) -> EmptyRange:
    span = f" in [{iso(start_ms) if start_ms is not None else '-inf'}, " + (
        f"{iso(end_ms) if end_ms is not None else 'now'})"
    )
    return EmptyRange(
        f"no candles stored for {_label(key)}{span}",
        details={"series": key.as_dict(), "start_ms": start_ms, "end_ms": end_ms},
    )


def check_range(
    *,
    series: Sequence[SeriesKey],
    start_ms: int | None,
    end_ms: int | None,
    allow_gaps: bool,
) -> None:
    """The request-time check: every series has candles in the range, and (unless gaps are
    allowed) none is missing between the first and last bar the series share."""
    covered = []
    for key in series:
        cover = coverage(series=key, start_ms=start_ms, end_ms=end_ms)
        if cover.count == 0:
            raise _empty(key, start_ms, end_ms)
        covered.append(cover)
    lo = max(c.first_ms for c in covered if c.first_ms is not None)
    hi = min(c.last_ms for c in covered if c.last_ms is not None)
    if hi < lo:
        raise EmptyRange(
            "the series have no time range in common",
            details={"series": [key.as_dict() for key in series]},
        )
    if allow_gaps:
        return
    found: list[dict[str, Any]] = []
    for key, cover in zip(series, covered, strict=True):
        if cover.count == cover.expected(key.timeframe.ms):
            continue  # first to last complete: no hole anywhere, so none in [lo, hi] either
        times = candle_open_times(series=key, start=lo, end=hi + key.timeframe.ms)
        gaps = gaps_in_open_times(times, key.timeframe, start=lo, end=hi + key.timeframe.ms)
        found += _gap_rows(key, gaps)
    if found:
        raise _gapped(found)


def load_bars(
    *,
    series: Sequence[SeriesKey],
    start_ms: int | None,
    end_ms: int | None,
    allow_gaps: bool,
) -> LoadedBars:
    """Read the candles of every series as float64 arrays, check the range, align them."""
    timeframe = series[0].timeframe
    loaded = []
    for key in series:
        arrays = candles_arrays(series=key, start=start_ms, end=end_ms)
        if arrays["open_time"].size == 0:
            raise _empty(key, start_ms, end_ms)
        loaded.append(arrays)
    lo = max(int(a["open_time"][0]) for a in loaded)
    hi = min(int(a["open_time"][-1]) for a in loaded)
    if hi < lo:
        raise EmptyRange(
            "the series have no time range in common",
            details={"series": [key.as_dict() for key in series]},
        )
    trimmed = []
    found: list[dict[str, Any]] = []
    for key, arrays in zip(series, loaded, strict=True):
        times = arrays["open_time"]
        keep = (times >= lo) & (times <= hi)
        part = {name: values[keep] for name, values in arrays.items()}
        gaps = gaps_in_open_times(part["open_time"], timeframe, start=lo, end=hi + timeframe.ms)
        found += _gap_rows(key, gaps)
        trimmed.append(part)
    if found and not allow_gaps:
        raise _gapped(found)
    common = trimmed[0]["open_time"]
    for part in trimmed[1:]:
        common = np.intersect1d(common, part["open_time"], assume_unique=True)
    dropped = sum(int(part["open_time"].size - common.size) for part in trimmed)
    columns: dict[str, list[np.ndarray]] = {name: [] for name in ("open", "high", "low", "close")}
    volumes = []
    for part in trimmed:
        rows = np.isin(part["open_time"], common, assume_unique=True)
        for name in columns:
            columns[name].append(part[name][rows])
        # Mark, index and funding series have no volume (NaN): the engine reads it as zero.
        volumes.append(np.nan_to_num(part["volume"][rows], nan=0.0))
    try:
        bars = Bars.from_arrays(
            common,
            open=np.column_stack(columns["open"]),
            high=np.column_stack(columns["high"]),
            low=np.column_stack(columns["low"]),
            close=np.column_stack(columns["close"]),
            volume=np.column_stack(volumes),
            symbols=symbol_names(series),
            timeframe=timeframe.code,
        )
    except QuantError as error:
        raise from_quant(error) from None
    return LoadedBars(
        bars=bars,
        first_ms=int(common[0]),
        last_ms=int(common[-1]),
        timeframe_ms=timeframe.ms,
        digest=bars.digest(),
        gaps=found[:GAPS_LISTED],
        dropped_bars=dropped,
    )
