"""The candle write path: check, quarantine, then write in one transaction.

Rows after (or before) the series' stored range are appended straight into ``data_candle``
(binary COPY on PostgreSQL); rows inside it are upserted through a staging table with
``ON CONFLICT DO UPDATE ... WHERE values differ``, so re-ingesting a range changes nothing.
See :mod:`~domains.data.services.writers` for the statements.

Everything (the writes, the series' coverage, the quarantined rows) happens in one transaction
with the series row locked: a failure leaves nothing half-written, and concurrent writers to one
series take turns.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min

from domains.data.models import Candle, QuarantinedRow, Series
from domains.data.services import writers
from domains.data.services.columns import CandleColumns, to_columns
from domains.data.services.validation import RowProblem, check_candles
from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import SeriesKey

Progress = Callable[[int, int], None]  # (rows written so far, rows to write)

# How many refused rows an error message lists in full (the count is always exact).
MAX_LISTED_PROBLEMS = 100


@dataclass(frozen=True)
class UpsertResult:
    """What one ``candles_upsert`` did; ``problems`` lists every quarantined row."""

    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    duplicates_collapsed: int
    problems: tuple[RowProblem, ...] = field(default=(), repr=False)

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def problems_error(problems: Sequence[RowProblem], *, source: str = "") -> InvalidInput:
    """The error that refuses a whole batch (strict mode), listing its bad rows."""
    first = problems[0]
    where = f" in {source}" if source else ""
    return InvalidInput(
        f"refused {len(problems)} bad row(s){where}; nothing was stored. "
        f"First: row {first.row}: {'; '.join(first.reasons)}",
        details={
            "bad_rows": len(problems),
            "rows": [problem.as_dict() for problem in problems[:MAX_LISTED_PROBLEMS]],
        },
    )


def candles_upsert(
    *,
    series: SeriesKey,
    frame: Any,
    source: str = "",
    strict: bool = False,
    now_ms: int | None = None,
    row_numbers: npt.NDArray[np.int64] | None = None,
    rejected: Sequence[RowProblem] = (),
    allow_unclosed: bool = False,
    synthetic: bool = False,
    progress: Progress | None = None,
) -> UpsertResult:
    """Check candles and write the good ones; re-writing identical candles changes nothing.

    ``frame`` is a DataFrame (``open_time`` column or DatetimeIndex), a numpy structured array or
    a mapping of arrays (see :func:`~domains.data.services.columns.to_columns`). Rows failing a
    check (see :mod:`~domains.data.services.validation`) and the ``rejected`` rows an importer
    could not even parse are quarantined with their reasons and the good rows are stored; with
    ``strict=True`` any bad row refuses the whole batch (:class:`InvalidInput` listing the bad
    rows) and nothing is stored. ``now_ms`` is the clock for the "no future candles" rule.
    """
    columns = to_columns(frame)
    now = int(time.time() * 1000) if now_ms is None else now_ms
    checked = check_candles(
        columns,
        series=series,
        now_ms=now,
        row_numbers=row_numbers,
        allow_unclosed=allow_unclosed,
    )
    problems = tuple(sorted((*rejected, *checked.problems), key=lambda problem: problem.row))
    if strict and problems:
        raise problems_error(problems, source=source)

    good = checked.good
    with transaction.atomic():
        record = _locked_series(series)
        inserted = updated = 0
        if len(good):
            inserted, updated = _write(record, series, good, progress)
            _advance_coverage(record, good, inserted, synthetic)
        if problems:
            _quarantine(record, source, problems)
    return UpsertResult(
        inserted=inserted,
        updated=updated,
        unchanged=len(good) - inserted - updated,
        quarantined=len(problems),
        duplicates_collapsed=checked.duplicates_collapsed,
        problems=problems,
    )


def _key_params(series: SeriesKey) -> list[str]:
    return list(series.as_dict().values())


def _locked_series(series: SeriesKey) -> Series:
    """The series row, created on first write and locked so concurrent writers take turns."""
    key: dict[str, Any] = dict(series.as_dict())
    record, _ = Series.objects.get_or_create(**key)
    return Series.objects.select_for_update().get(pk=record.pk)


def _advance_coverage(record: Series, good: CandleColumns, inserted: int, synthetic: bool) -> None:
    # Every candle reaches the table through here, so counting inserts keeps the count exact
    # without a count(*) over the series on every write; series_recount() repairs by hand.
    low, high = int(good.open_time[0]), int(good.open_time[-1])
    record.first_open_time = (
        low if record.first_open_time is None else min(record.first_open_time, low)
    )
    record.last_open_time = (
        high if record.last_open_time is None else max(record.last_open_time, high)
    )
    record.candle_count += inserted
    record.is_synthetic = record.is_synthetic or synthetic
    record.save()


def _quarantine(record: Series, source: str, problems: Sequence[RowProblem]) -> None:
    QuarantinedRow.objects.bulk_create(
        (
            QuarantinedRow(
                series=record,
                source=source[:500],
                row_number=problem.row,
                raw=problem.raw,
                reasons=list(problem.reasons),
            )
            for problem in problems
        ),
        batch_size=1000,
    )


def _write(
    record: Series, series: SeriesKey, good: CandleColumns, progress: Progress | None
) -> tuple[int, int]:
    """Append what lies outside the stored range, upsert the rest: (inserted, updated)."""
    total, done = len(good), 0

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        if progress is not None:
            progress(done, total)

    if connection.vendor == "postgresql":
        append, upsert = writers.append_postgres, writers.upsert_postgres
    else:
        append, upsert = writers.append_sqlite, writers.upsert_sqlite
    # The store keeps first/last exact (it is the only writer), so nothing stored lies outside.
    times = good.open_time
    if record.first_open_time is None or record.last_open_time is None:
        outside = np.ones(total, dtype=bool)
    else:
        outside = (times < record.first_open_time) | (times > record.last_open_time)
    inserted = updated = 0
    with connection.cursor() as cursor:
        if outside.any():
            try:
                with transaction.atomic():
                    inserted = append(cursor, series, good.take(outside), advance)
            except IntegrityError:
                # Someone wrote around the store: fall back to the upsert for every row.
                done, inserted, outside = 0, 0, np.zeros(total, dtype=bool)
        if not outside.all():
            more, updated = upsert(cursor, series, good.take(~outside), advance)
            inserted += more
    return inserted, updated


def series_recount(*, series: SeriesKey) -> None:
    """Recompute a series' first/last candle and count from the candle table (a repair tool)."""
    with transaction.atomic():
        record = _locked_series(series)
        stats = Candle.objects.filter(**series.as_dict()).aggregate(
            first=Min("open_time"), last=Max("open_time"), count=Count("open_time")
        )
        record.first_open_time = stats["first"]
        record.last_open_time = stats["last"]
        record.candle_count = stats["count"]
        record.save()
