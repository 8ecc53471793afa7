"""Quality checks on candles before they are stored, vectorised over the whole batch.

Every check is a numpy mask over all rows; Python only loops over the rows that failed, to word
their reasons. Bad rows are returned with their row numbers and reasons (the store quarantines
them), never dropped silently.

Rules (by price type):

* all: open time on the timeframe's UTC grid, not in the future, bar already closed (unless
  ``allow_unclosed``); open/high/low/close finite; ``high >= max(open, close)`` and
  ``low <= min(open, close)``.
* trades, mark, index: prices > 0. funding_rate: any sign (rates go negative).
* trades: volume present and >= 0; quote volume and trade count optional, >= 0 when present,
  trade count a whole number.
* mark, index, funding_rate: volume, quote volume and trade count absent (they have no trading).
* duplicates within the batch: identical rows collapse into one; rows sharing an open time with
  different values are all refused (we cannot tell which is right).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from domains.data.services.columns import OPTIONAL_FIELDS, PRICE_FIELDS, CandleColumns
from dsta.kernel.market import PriceType, SeriesKey, Timeframe

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class RowProblem:
    """A refused input row: where it was, what it held, and every check it failed."""

    row: int
    reasons: tuple[str, ...]
    raw: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class CheckedCandles:
    """The outcome of :func:`check_candles`: good rows sorted by open time and unique."""

    good: CandleColumns
    problems: tuple[RowProblem, ...]
    duplicates_collapsed: int


def iso(ts_ms: int) -> str:
    """A UTC millisecond timestamp as ISO-8601, for messages."""
    try:
        moment = datetime.fromtimestamp(ts_ms // 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return f"{ts_ms} ms"
    if ts_ms % 1000:
        moment = moment.replace(microsecond=ts_ms % 1000 * 1000)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.isoformat().replace("+00:00", "Z")


def _off_grid(ts_ms: int, timeframe: Timeframe) -> str:
    """How far a time is from the nearest bar open, e.g. "17 ms after 00:00:00"."""
    after = (ts_ms - timeframe.origin_ms) % timeframe.ms
    before = timeframe.ms - after
    if after <= before:
        return f"{after} ms after {iso(ts_ms - after)}"
    return f"{before} ms before {iso(ts_ms + before)}"


def _row_checks(
    columns: CandleColumns, series: SeriesKey, now_ms: int, allow_unclosed: bool
) -> list[tuple[BoolArray, Any]]:
    """(bad-row mask, reason or reason(i) function) for every per-row rule."""
    tf = series.timeframe
    t = columns.open_time
    checks: list[tuple[BoolArray, Any]] = []
    finite = {}
    for name in PRICE_FIELDS:
        values = getattr(columns, name)
        finite[name] = np.isfinite(values)
        checks.append((~finite[name], f"{name} is not a finite number"))
    all_finite = finite["open"] & finite["high"] & finite["low"] & finite["close"]
    with np.errstate(invalid="ignore"):
        upper = np.maximum(columns.open, columns.close)
        lower = np.minimum(columns.open, columns.close)
        checks.append((all_finite & (columns.high < upper), "high is below max(open, close)"))
        checks.append((all_finite & (columns.low > lower), "low is above min(open, close)"))
        if series.price_type is not PriceType.FUNDING_RATE:
            for name in PRICE_FIELDS:
                values = getattr(columns, name)
                checks.append((finite[name] & (values <= 0), f"{name} must be > 0"))

        if series.price_type is PriceType.TRADES:
            volume = columns.volume
            checks.append((np.isnan(volume), "volume is missing"))
            for name in OPTIONAL_FIELDS:
                values = getattr(columns, name)
                checks.append((np.isinf(values), f"{name} is not a finite number"))
                checks.append((values < 0, f"{name} is negative"))
            trades = columns.trades
            checks.append(
                (np.isfinite(trades) & (trades != np.floor(trades)), "trades is not a whole number")
            )
        else:
            for name in OPTIONAL_FIELDS:
                values = getattr(columns, name)
                checks.append(
                    (
                        ~np.isnan(values),
                        f"{name} must be empty for {series.price_type.value} candles",
                    )
                )

    misaligned = (t - tf.origin_ms) % tf.ms != 0
    checks.append(
        (
            misaligned,
            lambda i: (
                f"open time {iso(int(t[i]))} is not on the {tf} grid ({_off_grid(int(t[i]), tf)})"
            ),
        )
    )
    checks.append((t < 0, lambda i: f"open time {t[i]} is before 1970"))
    future = t > now_ms
    checks.append(
        (future, lambda i: f"open time {iso(int(t[i]))} is in the future (now {iso(now_ms)})")
    )
    if not allow_unclosed:
        unclosed = ~future & (t + tf.ms > now_ms)
        checks.append(
            (
                unclosed,
                lambda i: f"candle {iso(int(t[i]))} is still open until {iso(int(t[i]) + tf.ms)}",
            )
        )
    return checks


def _duplicate_groups(columns: CandleColumns) -> tuple[BoolArray, BoolArray]:
    """(rows to collapse into an identical earlier row, rows in a conflicting duplicate group)."""
    rows = len(columns)
    collapse = np.zeros(rows, dtype=bool)
    conflict = np.zeros(rows, dtype=bool)
    if rows < 2:
        return collapse, conflict
    order = np.argsort(columns.open_time, kind="stable")
    times = columns.open_time[order]
    starts_group = np.empty(rows, dtype=bool)
    starts_group[0] = True
    np.not_equal(times[1:], times[:-1], out=starts_group[1:])
    if starts_group.all():
        return collapse, conflict
    group = np.cumsum(starts_group) - 1
    first = np.flatnonzero(starts_group)[group]
    values = columns.matrix()[order]
    leader = values[first]
    same = ((values == leader) | (np.isnan(values) & np.isnan(leader))).all(axis=1)
    group_conflicts = np.zeros(group[-1] + 1, dtype=bool)
    np.logical_or.at(group_conflicts, group, ~same)
    conflict[order] = group_conflicts[group]
    collapse[order] = ~starts_group & ~group_conflicts[group]
    return collapse, conflict


def check_candles(
    columns: CandleColumns,
    *,
    series: SeriesKey,
    now_ms: int,
    row_numbers: npt.NDArray[np.int64] | None = None,
    allow_unclosed: bool = False,
) -> CheckedCandles:
    """Split a batch into good rows (sorted, unique) and refused rows with their reasons.

    ``row_numbers`` names each row in messages (file line numbers from an importer); by default a
    row is named by its 0-based position in the batch.
    """
    rows = len(columns)
    numbers = np.arange(rows, dtype=np.int64) if row_numbers is None else row_numbers
    checks = _row_checks(columns, series, now_ms, allow_unclosed)
    collapse, conflict = _duplicate_groups(columns)
    bad = np.zeros(rows, dtype=bool)
    for mask, _ in checks:
        bad |= mask
    bad |= conflict

    problems: list[RowProblem] = []
    bad_rows = np.flatnonzero(bad)
    if bad_rows.size:
        same_time_rows = _rows_by_time(columns, numbers, conflict)
        for i in bad_rows:
            reasons = [
                reason(i) if callable(reason) else reason for mask, reason in checks if mask[i]
            ]
            if conflict[i]:
                others = same_time_rows[int(columns.open_time[i])]
                reasons.append(
                    f"open time {iso(int(columns.open_time[i]))} appears {len(others)} times "
                    f"with different values (rows {', '.join(map(str, others))})"
                )
            problems.append(
                RowProblem(row=int(numbers[i]), reasons=tuple(reasons), raw=columns.row(int(i)))
            )

    keep = ~bad & ~collapse
    good = columns.take(np.flatnonzero(keep))
    order = np.argsort(good.open_time, kind="stable")
    if order.size and not (order[1:] > order[:-1]).all():
        good = good.take(order)
    return CheckedCandles(
        good=good,
        problems=tuple(problems),
        duplicates_collapsed=int((collapse & ~bad).sum()),
    )


def _rows_by_time(
    columns: CandleColumns, numbers: npt.NDArray[np.int64], conflict: BoolArray
) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = {}
    for i in np.flatnonzero(conflict):
        grouped.setdefault(int(columns.open_time[i]), []).append(int(numbers[i]))
    return grouped
