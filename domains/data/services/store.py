"""The candle write path: check, quarantine, then bulk upsert in one transaction.

PostgreSQL: the good rows go by binary COPY (built with numpy, see ``pgcopy``) into a temporary
staging table, then one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE values differ``
moves them into ``data_candle``. Re-ingesting a range therefore rewrites nothing that is already
right, and ``RETURNING (xmax = 0)`` tells inserted rows from updated ones.
SQLite: the same statements, with the staging table filled by ``executemany``.

Everything (staging, upsert, the series' coverage, the quarantined rows) happens in one
transaction: a failure leaves nothing half-written.
"""

# SQL here is assembled from fixed table and column names only; values always travel as
# parameters (or psycopg.sql.Literal inside COPY, which takes no parameters).
# ruff: noqa: S608

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Count, Max, Min

from domains.data.models import Candle, QuarantinedRow, Series
from domains.data.services import pgcopy
from domains.data.services.columns import VALUE_FIELDS, CandleColumns, to_columns
from domains.data.services.validation import RowProblem, check_candles
from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import SeriesKey

Progress = Callable[[int, int], None]  # (rows written so far, rows to write)

STAGE = "data_candle_stage"
KEY_COLUMNS = ("venue", "market_type", "symbol", "price_type", "timeframe")
COPY_COLUMNS: tuple[pgcopy.Column, ...] = (
    ("open_time", "i8"),
    ("open", "f8"),
    ("high", "f8"),
    ("low", "f8"),
    ("close", "f8"),
    ("volume", "f8"),
    ("quote_volume", "f8"),
    ("trades", "i8"),
)
CHUNK_ROWS = 100_000
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


def _q(name: str) -> str:
    return f'"{name}"'


_VALUES = ", ".join(_q(name) for name in VALUE_FIELDS)
_STAGED = ", ".join(f"s.{_q(name)}" for name in VALUE_FIELDS)
_CONFLICT = ", ".join((*KEY_COLUMNS, "open_time"))
_SET = ", ".join(f"{_q(name)} = excluded.{_q(name)}" for name in VALUE_FIELDS)
_INSERT = (
    f"INSERT INTO data_candle ({', '.join(KEY_COLUMNS)}, open_time, {_VALUES}) "
    f"SELECT %s, %s, %s, %s, %s, s.open_time, {_STAGED} FROM {STAGE} s WHERE true "
    f"ON CONFLICT ({_CONFLICT}) DO UPDATE SET {_SET} "
)


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
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    inserted, updated = _write_postgres(cursor, series, good, progress)
                else:
                    inserted, updated = _write_sqlite(cursor, series, good, progress)
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


def _arrays(good: CandleColumns) -> dict[str, npt.NDArray[Any]]:
    return {"open_time": good.open_time, **good.values()}


def _write_postgres(
    cursor: CursorWrapper, series: SeriesKey, good: CandleColumns, progress: Progress | None
) -> tuple[int, int]:
    columns = ", ".join(_q(name) for name, _ in COPY_COLUMNS)
    types = ", ".join(
        f"{_q(name)} {'int8' if kind == 'i8' else 'float8'}" for name, kind in COPY_COLUMNS
    )
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")
    cursor.execute(f"CREATE TEMP TABLE {STAGE} ({types}) ON COMMIT DROP")
    total, done = len(good), 0
    raw_cursor = cursor.cursor  # psycopg 3: Django's wrapper has no COPY
    with raw_cursor.copy(f"COPY {STAGE} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
        for rows, chunk in pgcopy.encode_chunks(COPY_COLUMNS, _arrays(good), CHUNK_ROWS):
            copy.write(chunk)
            if rows and progress is not None:
                done += rows
                progress(done, total)
    differs = (
        f"({', '.join(f'data_candle.{_q(n)}' for n in VALUE_FIELDS)}) IS DISTINCT FROM "
        f"({', '.join(f'excluded.{_q(n)}' for n in VALUE_FIELDS)})"
    )
    cursor.execute(
        f"WITH upserted AS ({_INSERT} WHERE {differs} RETURNING (xmax = 0) AS inserted) "
        "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) "
        "FROM upserted",
        _key_params(series),
    )
    inserted, updated = cursor.fetchone()
    cursor.execute(f"DROP TABLE {STAGE}")
    return int(inserted), int(updated)


def _nullable(values: npt.NDArray[np.float64], *, integer: bool = False) -> list[Any]:
    """Python values for sqlite3, NaN as None (sqlite3 would store NaN as NULL, but say so)."""
    missing = np.isnan(values)
    if not missing.any():
        return values.astype(np.int64).tolist() if integer else values.tolist()
    column = values.astype(object)
    if integer:
        column[~missing] = values[~missing].astype(np.int64).tolist()
    column[missing] = None
    return column.tolist()


def _write_sqlite(
    cursor: CursorWrapper, series: SeriesKey, good: CandleColumns, progress: Progress | None
) -> tuple[int, int]:
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (open_time INTEGER NOT NULL, "
        + ", ".join(
            f"{_q(name)} {'INTEGER' if kind == 'i8' else 'REAL'}" for name, kind in COPY_COLUMNS[1:]
        )
        + ")"
    )
    cursor.execute(f"DELETE FROM {STAGE}")
    placeholders = ", ".join(["%s"] * len(COPY_COLUMNS))
    columns = ", ".join(_q(name) for name, _ in COPY_COLUMNS)
    total = len(good)
    for begin in range(0, total, CHUNK_ROWS):
        chunk = good.take(np.arange(begin, min(begin + CHUNK_ROWS, total)))
        lists = [chunk.open_time.tolist()] + [
            _nullable(getattr(chunk, name), integer=name == "trades") for name in VALUE_FIELDS
        ]
        cursor.executemany(
            f"INSERT INTO {STAGE} ({columns}) VALUES ({placeholders})",
            list(zip(*lists, strict=True)),
        )
        if progress is not None:
            progress(min(begin + CHUNK_ROWS, total), total)

    key_match = " AND ".join(f"c.{name} = %s" for name in KEY_COLUMNS)
    differs_join = " OR ".join(f"c.{_q(n)} IS NOT s.{_q(n)}" for n in VALUE_FIELDS)
    changed = f"CASE WHEN c.open_time IS NOT NULL AND ({differs_join}) THEN 1 ELSE 0 END"
    cursor.execute(
        f"SELECT COUNT(c.open_time), COALESCE(SUM({changed}), 0) "
        f"FROM {STAGE} s LEFT JOIN data_candle c ON {key_match} AND c.open_time = s.open_time",
        _key_params(series),
    )
    existing, changed = cursor.fetchone()
    differs = " OR ".join(f"data_candle.{_q(n)} IS NOT excluded.{_q(n)}" for n in VALUE_FIELDS)
    cursor.execute(f"{_INSERT} WHERE {differs}", _key_params(series))
    cursor.execute(f"DELETE FROM {STAGE}")
    return total - int(existing), int(changed)


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
