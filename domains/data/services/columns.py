"""Candles as columns of numpy arrays, the in-memory shape the store, checks and importers share.

Callers hand the store a numpy structured array, a pandas DataFrame or a mapping of arrays;
:func:`to_columns` turns any of them into :class:`CandleColumns`. Optional values (volume,
quote volume, trade count) are float64 with NaN for "absent", so every check stays vectorised;
they become SQL NULL on the way into the database.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from dsta.kernel.errors import InvalidInput

PRICE_FIELDS = ("open", "high", "low", "close")
OPTIONAL_FIELDS = ("volume", "quote_volume", "trades")
VALUE_FIELDS = PRICE_FIELDS + OPTIONAL_FIELDS

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CandleColumns:
    """Candles column by column: ``open_time`` in UTC ms, values float64 (NaN = absent)."""

    open_time: Int64Array
    open: Float64Array
    high: Float64Array
    low: Float64Array
    close: Float64Array
    volume: Float64Array
    quote_volume: Float64Array
    trades: Float64Array

    def __len__(self) -> int:
        return int(self.open_time.shape[0])

    def values(self) -> dict[str, Float64Array]:
        """The value columns by name, in :data:`VALUE_FIELDS` order."""
        return {name: getattr(self, name) for name in VALUE_FIELDS}

    def matrix(self) -> Float64Array:
        """The value columns side by side, shape ``(rows, 7)``."""
        return np.column_stack([getattr(self, name) for name in VALUE_FIELDS])

    def take(self, index: npt.NDArray[Any]) -> "CandleColumns":
        """The rows picked by an integer index or a boolean mask."""
        return CandleColumns(
            open_time=self.open_time[index],
            **{name: getattr(self, name)[index] for name in VALUE_FIELDS},
        )

    def row(self, position: int) -> dict[str, Any]:
        """One row as JSON-safe plain values (NaN -> None, infinities as text)."""
        raw: dict[str, Any] = {"open_time": int(self.open_time[position])}
        for name in VALUE_FIELDS:
            raw[name] = json_number(float(getattr(self, name)[position]))
        return raw

    @classmethod
    def empty(cls) -> "CandleColumns":
        return from_arrays(np.empty(0, np.int64), {})


def json_number(value: float) -> float | str | None:
    """A float as JSON can hold it: NaN is absent, infinities are kept as text."""
    if np.isnan(value):
        return None
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def from_arrays(open_time: npt.ArrayLike, values: Mapping[str, npt.ArrayLike]) -> CandleColumns:
    """Build columns from an open-time array and value arrays (missing optional ones are NaN)."""
    times = np.ascontiguousarray(open_time, dtype=np.int64)
    rows = times.shape[0]
    columns: dict[str, Float64Array] = {}
    for name in VALUE_FIELDS:
        if name in values and values[name] is not None:
            try:
                array = np.ascontiguousarray(values[name], dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise InvalidInput(
                    f"column {name!r} is not numeric ({exc})", details={"column": name}
                ) from None
            if array.shape != (rows,):
                raise InvalidInput(
                    f"column {name!r} has {array.shape[0] if array.ndim else 0} values "
                    f"for {rows} open times",
                    details={"column": name},
                )
            columns[name] = array
        elif name in PRICE_FIELDS:
            raise InvalidInput(f"column {name!r} is required", details={"column": name})
        else:
            columns[name] = np.full(rows, np.nan)
    return CandleColumns(open_time=times, **columns)


def _times_from_pandas(values: Any, name: str) -> Int64Array:
    """UTC milliseconds from a datetime-like or integer pandas column/index (naive means UTC)."""
    if isinstance(values, pd.DatetimeIndex) or pd.api.types.is_datetime64_any_dtype(values):
        index = pd.DatetimeIndex(values)
        if index.tz is None:
            index = index.tz_localize("UTC")
        if index.isna().any():
            raise InvalidInput(f"{name} has empty timestamps", details={"column": name})
        return np.asarray(index.as_unit("ms").asi8, dtype=np.int64)
    if pd.api.types.is_integer_dtype(values):
        return np.asarray(values, dtype=np.int64)
    raise InvalidInput(
        f"{name} must hold UTC datetimes or integer milliseconds, not {values.dtype}",
        details={"column": name},
    )


def _float_column(column: pd.Series, name: str) -> Float64Array:
    """float64 values of a pandas column; nullable dtypes' NA becomes NaN."""
    try:
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"column {name!r} is not numeric ({exc})", details={"column": name}
        ) from None


def to_columns(frame: Any) -> CandleColumns:
    """Columns from a DataFrame, a numpy structured array, a mapping of arrays or CandleColumns.

    The open time comes from an ``open_time`` field/column (integer UTC ms, or datetimes) or,
    for a DataFrame without that column, from its DatetimeIndex (as :func:`candles_frame` gives).
    """
    if isinstance(frame, CandleColumns):
        return frame
    if isinstance(frame, pd.DataFrame):
        if "open_time" in frame.columns:
            times = _times_from_pandas(frame["open_time"], "open_time")
        elif isinstance(frame.index, pd.DatetimeIndex):
            times = _times_from_pandas(frame.index, "the index")
        else:
            raise InvalidInput(
                "a candle DataFrame needs an open_time column or a DatetimeIndex",
                details={"columns": [str(c) for c in frame.columns]},
            )
        return from_arrays(
            times,
            {name: _float_column(frame[name], name) for name in VALUE_FIELDS if name in frame},
        )
    if isinstance(frame, np.ndarray) and frame.dtype.names:
        names = frame.dtype.names
        if "open_time" not in names:
            raise InvalidInput(
                "a candle array needs an open_time field", details={"fields": list(names)}
            )
        return from_arrays(frame["open_time"], {n: frame[n] for n in VALUE_FIELDS if n in names})
    if isinstance(frame, Mapping):
        if "open_time" not in frame:
            raise InvalidInput("candle columns need open_time", details={"keys": list(frame)})
        return from_arrays(frame["open_time"], frame)
    raise InvalidInput(
        f"cannot read candles from {type(frame).__name__}: use a DataFrame, a numpy structured "
        "array or a mapping of arrays"
    )
