"""How checked candles reach ``data_candle``, per database backend (used by ``store``).

Two ways in, on both backends:

* append: rows outside the series' stored range cannot conflict with a stored row, so they go
  straight into ``data_candle`` (PostgreSQL: one binary COPY, key columns included; SQLite:
  ``executemany`` INSERT). This is the usual case: new candles after the last one.
* upsert: rows inside the stored range go into a temporary staging table (binary COPY /
  ``executemany``), then one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE values
  differ`` moves them over, so re-ingesting a range rewrites nothing already right. On
  PostgreSQL ``RETURNING (xmax = 0)`` tells inserted rows from updated ones; on SQLite a join on
  the staging table counts them first.

Both run inside the caller's transaction.
"""

# SQL here is assembled from fixed table and column names only; values always travel as
# parameters (or inside the binary COPY stream).
# ruff: noqa: S608

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db.backends.utils import CursorWrapper

from domains.data.services import pgcopy
from domains.data.services.columns import VALUE_FIELDS, CandleColumns
from dsta.kernel.market import SeriesKey

Advance = Callable[[int], None]  # called with the number of rows just written

STAGE = "data_candle_stage"
KEY_COLUMNS = ("venue", "market_type", "symbol", "price_type", "timeframe")
COPY_COLUMNS: tuple[pgcopy.Column, ...] = (
    ("open_time", "i8"),
    *((name, "i8" if name == "trades" else "f8") for name in VALUE_FIELDS),
)
CHUNK_ROWS = 100_000


def _q(name: str) -> str:
    return f'"{name}"'


_VALUES = ", ".join(_q(name) for name in VALUE_FIELDS)
_ALL_COLUMNS = f"{', '.join(KEY_COLUMNS)}, open_time, {_VALUES}"
_STAGED = ", ".join(f"s.{_q(name)}" for name in VALUE_FIELDS)
_SET = ", ".join(f"{_q(name)} = excluded.{_q(name)}" for name in VALUE_FIELDS)
_INSERT_FROM_STAGE = (
    f"INSERT INTO data_candle ({_ALL_COLUMNS}) "
    f"SELECT %s, %s, %s, %s, %s, s.open_time, {_STAGED} FROM {STAGE} s WHERE true "
    f"ON CONFLICT ({', '.join(KEY_COLUMNS)}, open_time) DO UPDATE SET {_SET} "
)


def _key_params(series: SeriesKey) -> list[str]:
    return list(series.as_dict().values())


def _arrays(rows: CandleColumns) -> dict[str, npt.NDArray[Any]]:
    return {"open_time": rows.open_time, **rows.values()}


# --- PostgreSQL --------------------------------------------------------------------------------


def _copy_in(
    cursor: CursorWrapper,
    statement: str,
    rows: CandleColumns,
    advance: Advance,
    constants: tuple[bytes, ...] = (),
) -> None:
    raw_cursor = cursor.cursor  # psycopg 3's cursor: Django's wrapper has no COPY
    # Django maps driver errors to django.db errors only for what it runs itself.
    with cursor.db.wrap_database_errors, raw_cursor.copy(statement) as copy:
        for count, chunk in pgcopy.encode_chunks(
            COPY_COLUMNS, _arrays(rows), CHUNK_ROWS, constants
        ):
            copy.write(chunk)
            if count:
                advance(count)


def append_postgres(
    cursor: CursorWrapper, series: SeriesKey, rows: CandleColumns, advance: Advance
) -> int:
    """Binary COPY straight into data_candle; the rows must be new to the table."""
    constants = tuple(value.encode() for value in _key_params(series))
    _copy_in(
        cursor,
        f"COPY data_candle ({_ALL_COLUMNS}) FROM STDIN (FORMAT BINARY)",
        rows,
        advance,
        constants,
    )
    return len(rows)


def upsert_postgres(
    cursor: CursorWrapper, series: SeriesKey, rows: CandleColumns, advance: Advance
) -> tuple[int, int]:
    """Staging COPY + INSERT ... ON CONFLICT DO UPDATE WHERE values differ: (inserted, updated)."""
    types = ", ".join(
        f"{_q(name)} {'int8' if kind == 'i8' else 'float8'}" for name, kind in COPY_COLUMNS
    )
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")
    cursor.execute(f"CREATE TEMP TABLE {STAGE} ({types}) ON COMMIT DROP")
    columns = ", ".join(_q(name) for name, _ in COPY_COLUMNS)
    _copy_in(cursor, f"COPY {STAGE} ({columns}) FROM STDIN (FORMAT BINARY)", rows, advance)
    differs = (
        f"({', '.join(f'data_candle.{_q(n)}' for n in VALUE_FIELDS)}) IS DISTINCT FROM "
        f"({', '.join(f'excluded.{_q(n)}' for n in VALUE_FIELDS)})"
    )
    cursor.execute(
        f"WITH upserted AS ({_INSERT_FROM_STAGE} WHERE {differs} "
        "RETURNING (xmax = 0) AS inserted) "
        "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) "
        "FROM upserted",
        _key_params(series),
    )
    inserted, updated = cursor.fetchone()
    cursor.execute(f"DROP TABLE {STAGE}")
    return int(inserted), int(updated)


# --- SQLite ---------------------------------------------------------------------------------------


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


def _insert_many(
    cursor: CursorWrapper,
    table: str,
    rows: CandleColumns,
    advance: Advance,
    key: list[str] | None = None,
) -> None:
    columns = ([*KEY_COLUMNS] if key else []) + [_q(name) for name, _ in COPY_COLUMNS]
    placeholders = ", ".join(["%s"] * len(columns))
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    for begin in range(0, len(rows), CHUNK_ROWS):
        chunk = rows.take(np.arange(begin, min(begin + CHUNK_ROWS, len(rows))))
        lists = [chunk.open_time.tolist()] + [
            _nullable(getattr(chunk, name), integer=name == "trades") for name in VALUE_FIELDS
        ]
        if key:
            lists = [[value] * len(chunk) for value in key] + lists
        cursor.executemany(statement, list(zip(*lists, strict=True)))
        advance(len(chunk))


def append_sqlite(
    cursor: CursorWrapper, series: SeriesKey, rows: CandleColumns, advance: Advance
) -> int:
    """executemany INSERT straight into data_candle; the rows must be new to the table."""
    _insert_many(cursor, "data_candle", rows, advance, key=_key_params(series))
    return len(rows)


def upsert_sqlite(
    cursor: CursorWrapper, series: SeriesKey, rows: CandleColumns, advance: Advance
) -> tuple[int, int]:
    """Staging table + INSERT ... ON CONFLICT DO UPDATE WHERE values differ: (inserted, updated)."""
    value_types = ", ".join(
        f"{_q(name)} {'INTEGER' if kind == 'i8' else 'REAL'}" for name, kind in COPY_COLUMNS[1:]
    )
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (open_time INTEGER NOT NULL, {value_types})"
    )
    cursor.execute(f"DELETE FROM {STAGE}")
    _insert_many(cursor, STAGE, rows, advance)
    key_match = " AND ".join(f"c.{name} = %s" for name in KEY_COLUMNS)
    differs_join = " OR ".join(f"c.{_q(n)} IS NOT s.{_q(n)}" for n in VALUE_FIELDS)
    changed = f"CASE WHEN c.open_time IS NOT NULL AND ({differs_join}) THEN 1 ELSE 0 END"
    cursor.execute(
        f"SELECT COUNT(c.open_time), COALESCE(SUM({changed}), 0) "
        f"FROM {STAGE} s LEFT JOIN data_candle c ON {key_match} AND c.open_time = s.open_time",
        _key_params(series),
    )
    existing, updated = cursor.fetchone()
    differs = " OR ".join(f"data_candle.{_q(n)} IS NOT excluded.{_q(n)}" for n in VALUE_FIELDS)
    cursor.execute(f"{_INSERT_FROM_STAGE} WHERE {differs}", _key_params(series))
    cursor.execute(f"DELETE FROM {STAGE}")
    return len(rows) - int(existing), int(updated)
