"""Candle reads straight into numpy/pandas: no model instance per row.

PostgreSQL: ``COPY (SELECT ...) TO STDOUT (FORMAT BINARY)`` parsed by ``np.frombuffer``
(NULLs are coalesced to NaN in the query, so every row has the same width).
SQLite: one ``fetchall`` turned into one float64 matrix.

Ranges are half-open ``[start, end)`` on the open time, given as UTC milliseconds or aware
datetimes. ``limit`` follows ccxt's ``fetch_ohlcv``: with a ``start`` the first ``limit`` bars
from it, without one the latest ``limit`` bars; either way in ascending time order.
"""

# SQL here is assembled from fixed table and column names only; values always travel as
# parameters (or psycopg.sql.Literal inside COPY, which takes no parameters).
# ruff: noqa: S608

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from django.db import connection
from psycopg import sql

from domains.data.models import DataGap, GapState, Series
from domains.data.services import pgcopy
from domains.data.services.columns import VALUE_FIELDS
from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import SeriesKey

# pandas Timestamps are datetimes, so they are accepted too.
Moment: TypeAlias = int | datetime
READ_COLUMNS: tuple[pgcopy.Column, ...] = (
    ("open_time", "i8"),
    *((name, "f8") for name in VALUE_FIELDS),
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KEY_COLUMNS = ("venue", "market_type", "symbol", "price_type", "timeframe")


@dataclass(frozen=True)
class SeriesInfo:
    """A stored series and its coverage (open times in UTC ms)."""

    key: SeriesKey
    first_open_time: int | None
    last_open_time: int | None
    candle_count: int
    is_synthetic: bool
    open_gaps: int

    @property
    def expected_count(self) -> int:
        """Bars a complete series would hold between its first and last candle."""
        if self.first_open_time is None or self.last_open_time is None:
            return 0
        return (self.last_open_time - self.first_open_time) // self.key.timeframe.ms + 1

    @property
    def coverage(self) -> float:
        """Share of the bars between first and last candle that are stored (1.0 = no holes)."""
        expected = self.expected_count
        return self.candle_count / expected if expected else 0.0


def to_ms(moment: Moment | None, name: str = "time") -> int | None:
    """UTC milliseconds from an int (already ms) or an aware datetime; naive datetimes refused."""
    if moment is None:
        return None
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise InvalidInput(
                f"{name} must be timezone-aware (UTC), got naive {moment.isoformat()}",
                details={name: moment.isoformat()},
            )
        return (moment - _EPOCH) // timedelta(milliseconds=1)
    if isinstance(moment, int | np.integer) and not isinstance(moment, bool):
        return int(moment)
    raise InvalidInput(
        f"{name} must be UTC milliseconds or an aware datetime", details={name: str(moment)}
    )


def series_info(*, series: SeriesKey) -> SeriesInfo | None:
    """The stored coverage of a series, or None when nothing was ever written to it."""
    record = Series.objects.filter(**series.as_dict()).first()
    if record is None:
        return None
    return SeriesInfo(
        key=series,
        first_open_time=record.first_open_time,
        last_open_time=record.last_open_time,
        candle_count=record.candle_count,
        is_synthetic=record.is_synthetic,
        open_gaps=DataGap.objects.filter(series=record, state=GapState.MISSING).count(),
    )


def candle_open_times(
    *, series: SeriesKey, start: Moment | None = None, end: Moment | None = None
) -> npt.NDArray[np.int64]:
    """Stored open times of a series in ``[start, end)``, ascending (what gap finding needs)."""
    where, params = _where(series, to_ms(start, "start"), to_ms(end, "end"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT open_time FROM data_candle WHERE {where} ORDER BY open_time", params
        )
        rows = cursor.fetchall()
    return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))


def candles_arrays(
    *,
    series: SeriesKey,
    start: Moment | None = None,
    end: Moment | None = None,
    limit: int | None = None,
) -> dict[str, np.ndarray]:
    """Candles as arrays: ``open_time`` int64 UTC ms, the rest float64 (NaN where absent)."""
    start_ms, end_ms = to_ms(start, "start"), to_ms(end, "end")
    if limit is not None and limit < 0:
        raise InvalidInput("limit must be >= 0", details={"limit": limit})
    if connection.vendor == "postgresql":
        return _read_postgres(series, start_ms, end_ms, limit)
    return _read_generic(series, start_ms, end_ms, limit)


def candles_frame(
    *,
    series: SeriesKey,
    start: Moment | None = None,
    end: Moment | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Candles as a DataFrame indexed by UTC open time (``open_time``), float64 columns."""
    arrays = candles_arrays(series=series, start=start, end=end, limit=limit)
    index = pd.DatetimeIndex(
        pd.to_datetime(arrays.pop("open_time"), unit="ms", utc=True), name="open_time"
    )
    return pd.DataFrame(arrays, index=index, columns=list(VALUE_FIELDS))


def _where(series: SeriesKey, start: int | None, end: int | None) -> tuple[str, list[Any]]:
    clauses = [f"{name} = %s" for name in _KEY_COLUMNS]
    params: list[Any] = list(series.as_dict().values())
    if start is not None:
        clauses.append("open_time >= %s")
        params.append(start)
    if end is not None:
        clauses.append("open_time < %s")
        params.append(end)
    return " AND ".join(clauses), params


def _select_sql(series: SeriesKey, start: int | None, end: int | None, limit: int | None) -> str:
    """The range query with literals inlined, so it can run inside COPY (which takes no params)."""
    where = sql.SQL(" AND ").join(
        [
            sql.SQL("{} = {}").format(sql.Identifier(name), sql.Literal(value))
            for name, value in series.as_dict().items()
        ]
        + ([sql.SQL("open_time >= {}").format(sql.Literal(start))] if start is not None else [])
        + ([sql.SQL("open_time < {}").format(sql.Literal(end))] if end is not None else [])
    )
    values = sql.SQL(", ").join(
        [sql.SQL('"open", "high", "low", "close"')]
        + [
            sql.SQL("coalesce({}::float8, 'NaN'::float8)").format(sql.Identifier(name))
            for name in ("volume", "quote_volume", "trades")
        ]
    )
    newest_first = limit is not None and start is None
    inner = sql.SQL("SELECT open_time, {} FROM data_candle WHERE {} ORDER BY open_time {}").format(
        values, where, sql.SQL("DESC" if newest_first else "ASC")
    )
    if limit is not None:
        inner = sql.SQL("{} LIMIT {}").format(inner, sql.Literal(int(limit)))
    if newest_first:
        inner = sql.SQL("SELECT * FROM ({}) newest ORDER BY open_time").format(inner)
    connection.ensure_connection()
    return inner.as_string(connection.connection)


def _read_postgres(
    series: SeriesKey, start: int | None, end: int | None, limit: int | None
) -> dict[str, np.ndarray]:
    query = _select_sql(series, start, end, limit)
    payload = bytearray()
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy,
    ):
        for block in copy:
            payload += block
    return pgcopy.decode_rows(payload, READ_COLUMNS)


def _read_generic(
    series: SeriesKey, start: int | None, end: int | None, limit: int | None
) -> dict[str, np.ndarray]:
    where, params = _where(series, start, end)
    columns = ", ".join(f'"{name}"' for name in VALUE_FIELDS)
    newest_first = limit is not None and start is None
    query = (
        f"SELECT open_time, {columns} FROM data_candle WHERE {where} "
        f"ORDER BY open_time {'DESC' if newest_first else 'ASC'}"
    )
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    # None -> NaN in the float64 conversion; ms timestamps (< 2**53) are exact in float64,
    # but open_time is taken as int64 on its own anyway.
    matrix = np.array(rows, dtype=np.float64).reshape(len(rows), 1 + len(VALUE_FIELDS))
    times = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    if newest_first:
        matrix, times = matrix[::-1], times[::-1]
    arrays: dict[str, np.ndarray] = {"open_time": np.ascontiguousarray(times)}
    for i, name in enumerate(VALUE_FIELDS, start=1):
        arrays[name] = np.ascontiguousarray(matrix[:, i])
    return arrays
