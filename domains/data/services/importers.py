"""Candle file importers: Binance Vision kline dumps, generic CSV/Parquet, freqtrade JSON.

Every reader turns a file into :class:`ParsedCandles`: numeric columns, the file line of each row,
and the rows it could not parse with their reasons. :func:`import_candles_file` hands that to
``candles_upsert`` so a file is stored in one transaction: all of it, or (strict, the default for
files) nothing when any row is bad, with the bad rows listed by line number.

Formats:

* ``binance``: data.binance.vision klines, 12 columns (open_time, open, high, low, close, volume,
  close_time, quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore); spot files
  have no header, futures files have one; ``.zip`` (one CSV member) or ``.csv``. Spot files from
  2025 on carry microsecond timestamps: the unit is read off the magnitude. ``close_time`` must
  agree with the timeframe, so a 1m file is not stored as 1h.
* ``csv``: a header row and a column mapping (ours -> theirs, e.g. ``open_time=timestamp_ms``);
  without one, columns named like ours (or ``timestamp``/``date``/``time`` for the open time) are
  used. Open times are epoch numbers (s/ms/us by magnitude, or ``time_unit``) or ISO-8601 text.
* ``parquet`` / ``feather``: as csv, read with pyarrow (a clear error when it is not installed).
* ``freqtrade-json``: freqtrade's ``[[ts_ms, open, high, low, close, volume], ...]`` (``.json``
  or ``.json.gz``); row numbers are 1-based positions in the list.

For mark, index and funding-rate series the files' volume columns are ignored (they carry zeros
or nothing); a funding row with high, low and close all zero (freqtrade's layout) is read as one
rate in every price field.
"""

import gzip
import importlib.util
import io
import json
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from domains.data.services.columns import (
    OPTIONAL_FIELDS,
    PRICE_FIELDS,
    VALUE_FIELDS,
    CandleColumns,
    from_arrays,
)
from domains.data.services.store import Progress, UpsertResult, candles_upsert
from domains.data.services.validation import RowProblem, iso
from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import PriceType, SeriesKey, Timeframe

FORMATS = ("auto", "binance", "csv", "parquet", "feather", "freqtrade-json")
TIME_UNITS = ("auto", "s", "ms", "us")
BINANCE_COLUMNS = (
    "open_time", "open", "high", "low", "close", "volume", "close_time",
    "quote_volume", "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore",
)  # fmt: skip
TIME_ALIASES = ("open_time", "timestamp_ms", "timestamp", "time", "date", "datetime", "ts")
_UNIT_FACTOR = {"s": 1000.0, "ms": 1.0, "us": 0.001}  # multiply to get milliseconds


@dataclass(frozen=True)
class ParsedCandles:
    """A file read into columns; ``problems`` are rows that could not be parsed at all."""

    columns: CandleColumns
    row_numbers: npt.NDArray[np.int64]
    problems: tuple[RowProblem, ...]
    format: str


@dataclass(frozen=True)
class ImportResult:
    """What importing one file did."""

    path: str
    format: str
    rows: int
    upsert: UpsertResult
    first_open_time: int | None
    last_open_time: int | None
    problems: tuple[RowProblem, ...] = field(default=(), repr=False)


def _bad_input(path: Path | str, message: str, **details: Any) -> InvalidInput:
    return InvalidInput(f"{Path(path).name}: {message}", details={"path": str(path), **details})


# --- reading bytes ------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    """The file's content, unzipped/gunzipped; a damaged archive is a clear error."""
    if not path.is_file():
        raise _bad_input(path, "no such file")
    name = path.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if not m.endswith("/")]
                if len(members) != 1:
                    raise _bad_input(
                        path,
                        f"expected one CSV file in the archive, found {len(members)}",
                        members=members,
                    )
                return archive.read(members[0])
        if name.endswith(".gz"):
            return gzip.decompress(path.read_bytes())
    except (zipfile.BadZipFile, zlib.error, EOFError, gzip.BadGzipFile, OSError) as exc:
        raise _bad_input(path, f"damaged or truncated archive ({exc})") from None
    return path.read_bytes()


def detect_format(path: Path) -> str:
    """The reader for a file, from its name (and for ``.csv`` its first line)."""
    name = path.name.lower()
    if name.endswith(".zip"):
        return "binance"
    if name.endswith((".json", ".json.gz")):
        return "freqtrade-json"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".feather"):
        return "feather"
    if name.endswith((".csv", ".csv.gz")):
        first = _read_bytes(path)[:512].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        fields = first.split(",")
        looks_binance = len(fields) == len(BINANCE_COLUMNS) and (
            fields[0].strip().isdigit() or fields[0].strip() == "open_time"
        )
        return "binance" if looks_binance else "csv"
    raise _bad_input(
        path, "unknown file type; give --format (binance, csv, parquet, freqtrade-json)"
    )


def _read_text_table(path: Path, data: bytes, *, header: bool) -> pd.DataFrame:
    """All cells as text (so bad cells can be named), blank lines kept (so row numbers hold)."""
    if not data.strip():
        raise _bad_input(path, "the file is empty")
    try:
        return pd.read_csv(
            io.BytesIO(data),
            header=0 if header else None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8",
        )
    except pd.errors.ParserError as exc:
        raise _bad_input(
            path, f"malformed CSV: {str(exc).replace('Error tokenizing data. C error: ', '')}"
        ) from None
    except UnicodeDecodeError as exc:
        raise _bad_input(
            path, f"not a UTF-8 text file ({exc.reason} at byte {exc.start})"
        ) from None


# --- text to numbers ----------------------------------------------------------------------------


def _present(column: pd.Series) -> npt.NDArray[np.bool_]:
    text = column.astype(str).str.strip()
    return np.asarray(column.notna() & (text != "") & (text.str.lower() != "none"), dtype=bool)


def _numbers(
    column: pd.Series, name: str, reasons: dict[int, list[str]], *, required: bool
) -> npt.NDArray[np.float64]:
    """float64 values; unparsable cells and missing required ones become row reasons."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(values)
    else:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        present = _present(column)
        for i in np.flatnonzero(present & np.isnan(values)):
            reasons.setdefault(int(i), []).append(f"{name}: not a number: {column.iloc[i]!r}")
    if required:
        for i in np.flatnonzero(~present):
            reasons.setdefault(int(i), []).append(f"{name} is empty")
    return values


def _epoch_unit(values: npt.NDArray[np.float64], time_unit: str) -> str:
    if time_unit != "auto":
        return time_unit
    finite = values[np.isfinite(values)]
    return _unit_of(float(np.median(finite))) if finite.size else "ms"


def _unit_of(value: float) -> str:
    # 1e11 ms is 1973 and 1e11 s is year 5138; 1e14 ms is year 5138 and 1e14 us is 1973.
    magnitude = abs(value)
    return "us" if magnitude >= 1e14 else "ms" if magnitude >= 1e11 else "s"


def _epoch_to_ms(
    values: npt.NDArray[np.float64], time_unit: str, reasons: dict[int, list[str]], name: str
) -> tuple[npt.NDArray[np.int64], str]:
    unit = _epoch_unit(values, time_unit)
    finite = np.isfinite(values)
    if time_unit == "auto":
        for i in np.flatnonzero(finite):
            other = _unit_of(float(values[i]))
            if other != unit:
                reasons.setdefault(int(i), []).append(
                    f"{name} {values[i]:.0f} looks like {other} while the file is in {unit}"
                )
    millis = np.where(finite, values, 0.0) * _UNIT_FACTOR[unit]
    whole = np.round(millis)
    for i in np.flatnonzero(finite & (np.abs(millis - whole) > 1e-6)):
        reasons.setdefault(int(i), []).append(f"{name} {values[i]!r} is not a whole millisecond")
    return whole.astype(np.int64), unit


def _text_times_to_ms(
    column: pd.Series, reasons: dict[int, list[str]], name: str
) -> npt.NDArray[np.int64]:
    parsed = pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601")
    present = _present(column)
    for i in np.flatnonzero(present & np.asarray(parsed.isna())):
        reasons.setdefault(int(i), []).append(
            f"{name}: not a date or epoch number: {column.iloc[i]!r}"
        )
    for i in np.flatnonzero(~present):
        reasons.setdefault(int(i), []).append(f"{name} is empty")
    index = pd.DatetimeIndex(parsed)
    return np.where(index.isna(), 0, index.as_unit("ms").asi8).astype(np.int64)


def _times_to_ms(
    column: pd.Series, time_unit: str, reasons: dict[int, list[str]], name: str
) -> npt.NDArray[np.int64]:
    if pd.api.types.is_datetime64_any_dtype(column):
        index = pd.DatetimeIndex(column)
        index = index.tz_localize("UTC") if index.tz is None else index
        for i in np.flatnonzero(np.asarray(index.isna())):
            reasons.setdefault(int(i), []).append(f"{name} is empty")
        return np.where(index.isna(), 0, index.as_unit("ms").asi8).astype(np.int64)
    numeric = pd.to_numeric(column, errors="coerce")
    present = _present(column)
    if present.any() and np.isnan(numeric.to_numpy(dtype=np.float64)[present]).mean() > 0.5:
        return _text_times_to_ms(column, reasons, name)
    values = _numbers(column, name, reasons, required=True)
    millis, _unit = _epoch_to_ms(values, time_unit, reasons, name)
    return millis


# --- readers ------------------------------------------------------------------------------------


def _assemble(
    times: npt.NDArray[np.int64],
    values: dict[str, npt.NDArray[np.float64]],
    raw_table: pd.DataFrame,
    row_numbers: npt.NDArray[np.int64],
    reasons: dict[int, list[str]],
    fmt: str,
    price_type: PriceType,
) -> ParsedCandles:
    if price_type is not PriceType.TRADES:
        values = {name: v for name, v in values.items() if name not in OPTIONAL_FIELDS}
        if price_type is PriceType.FUNDING_RATE:
            single_rate = (values["high"] == 0) & (values["low"] == 0) & (values["close"] == 0)
            for name in ("high", "low", "close"):
                values[name] = np.where(single_rate, values["open"], values[name])
    bad = np.zeros(len(times), dtype=bool)
    bad[list(reasons)] = True
    problems = tuple(
        RowProblem(
            row=int(row_numbers[i]),
            reasons=tuple(reasons[i]),
            raw={str(k): _json_cell(v) for k, v in raw_table.iloc[i].items()},
        )
        for i in sorted(reasons)
    )
    keep = np.flatnonzero(~bad)
    columns = from_arrays(times[keep], {name: v[keep] for name, v in values.items()})
    return ParsedCandles(columns, row_numbers[keep], problems, fmt)


def _json_cell(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value if isinstance(value, str | int | bool) or value is None else str(value)


def read_binance_klines(
    path: Path, *, timeframe: Timeframe, price_type: PriceType = PriceType.TRADES
) -> ParsedCandles:
    """Read a data.binance.vision kline file (``.zip`` or ``.csv``; header or not; ms or us)."""
    data = _read_bytes(path)
    first_line = data[:512].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    first_field = first_line.split(",")[0].strip()
    header = not first_field.lstrip("-").isdigit()
    if header and first_field != "open_time":
        raise _bad_input(
            path, f"not a Binance kline file: first line is {first_line[:80]!r}", line=1
        )
    table = _read_text_table(path, data, header=header)
    if table.shape[1] != len(BINANCE_COLUMNS):
        raise _bad_input(
            path,
            f"expected the {len(BINANCE_COLUMNS)} Binance kline columns, found {table.shape[1]}",
            columns=table.shape[1],
        )
    table.columns = list(BINANCE_COLUMNS)
    if table.empty:
        raise _bad_input(path, "no candle rows")
    row_numbers = np.arange(len(table), dtype=np.int64) + (2 if header else 1)
    reasons: dict[int, list[str]] = {}
    raw_open = _numbers(table["open_time"], "open_time", reasons, required=True)
    raw_close = _numbers(table["close_time"], "close_time", reasons, required=True)
    times, unit = _epoch_to_ms(raw_open, "auto", reasons, "open_time")
    values = {
        name: _numbers(table[name], name, reasons, required=True)
        for name in (*PRICE_FIELDS, "volume")
    }
    values["quote_volume"] = _numbers(
        table["quote_volume"], "quote_volume", reasons, required=False
    )
    values["trades"] = _numbers(table["count"], "count", reasons, required=False)
    _check_close_times(path, raw_open, raw_close, unit, timeframe, reasons)
    return _assemble(times, values, table, row_numbers, reasons, "binance", price_type)


def _check_close_times(
    path: Path,
    opens: npt.NDArray[np.float64],
    closes: npt.NDArray[np.float64],
    unit: str,
    timeframe: Timeframe,
    reasons: dict[int, list[str]],
) -> None:
    """Binance's close_time is open_time + duration - 1 (in the file's unit)."""
    valid = np.isfinite(opens) & np.isfinite(closes)
    duration_ms = (closes - opens) * _UNIT_FACTOR[unit] + _UNIT_FACTOR[unit]
    wrong = valid & (np.abs(duration_ms - timeframe.ms) > 1e-6)
    if valid.any() and wrong[valid].all():
        seen = float(np.median(duration_ms[valid]))
        raise _bad_input(
            path,
            f"the file holds {seen / 60_000:g}-minute candles (close_time - open_time), "
            f"not {timeframe}",
            timeframe=timeframe.code,
        )
    for i in np.flatnonzero(wrong):
        reasons.setdefault(int(i), []).append(
            f"close_time says the bar lasts {duration_ms[i]:.0f} ms, not {timeframe} "
            f"({timeframe.ms} ms)"
        )


def _resolve_mapping(
    path: Path, available: list[str], mapping: Mapping[str, str] | None
) -> dict[str, str]:
    """Our field -> the file's column, from the mapping given plus same-named columns."""
    mapping = dict(mapping or {})
    unknown_fields = set(mapping) - {"open_time", *VALUE_FIELDS}
    if unknown_fields:
        raise _bad_input(
            path,
            f"unknown field(s) in the mapping: {', '.join(sorted(unknown_fields))}; "
            f"map open_time, {', '.join(VALUE_FIELDS)}",
        )
    missing_columns = [column for column in mapping.values() if column not in available]
    if missing_columns:
        raise _bad_input(
            path,
            f"mapped column(s) {', '.join(missing_columns)} not in the file; it has "
            f"{', '.join(available)}",
            columns=available,
        )
    lowered = {column.strip().lower(): column for column in available}
    resolved = dict(mapping)
    for name in ("open_time", *VALUE_FIELDS):
        if name in resolved:
            continue
        aliases = TIME_ALIASES if name == "open_time" else (name,)
        found = next((lowered[a] for a in aliases if a in lowered), None)
        if found is not None:
            resolved[name] = found
    required = ["open_time", *PRICE_FIELDS]
    absent = [name for name in required if name not in resolved]
    if absent:
        raise _bad_input(
            path,
            f"no column for {', '.join(absent)}; the file has {', '.join(available)} "
            "(map them, e.g. --map open_time=ts,open=o)",
            columns=available,
        )
    return resolved


def _read_table(
    path: Path,
    table: pd.DataFrame,
    row_numbers: npt.NDArray[np.int64],
    fmt: str,
    *,
    mapping: Mapping[str, str] | None,
    time_unit: str,
    price_type: PriceType,
) -> ParsedCandles:
    if table.empty:
        raise _bad_input(path, "no candle rows")
    columns = _resolve_mapping(path, [str(c) for c in table.columns], mapping)
    table = table.rename(columns=str)
    reasons: dict[int, list[str]] = {}
    times = _times_to_ms(table[columns["open_time"]], time_unit, reasons, "open_time")
    required = {*PRICE_FIELDS, *(["volume"] if price_type is PriceType.TRADES else [])}
    values = {
        name: _numbers(table[column], name, reasons, required=name in required)
        for name, column in columns.items()
        if name != "open_time"
    }
    return _assemble(times, values, table, row_numbers, reasons, fmt, price_type)


def _needs_pyarrow(path: Path, fmt: str) -> None:
    if importlib.util.find_spec("pyarrow") is None:
        raise _bad_input(
            path,
            f"reading {fmt} files needs pyarrow, which is not installed "
            "(pip install pyarrow), or convert the file to CSV",
        )


def read_candle_file(
    path: Path | str,
    *,
    timeframe: Timeframe,
    price_type: PriceType = PriceType.TRADES,
    fmt: str = "auto",
    mapping: Mapping[str, str] | None = None,
    time_unit: str = "auto",
) -> ParsedCandles:
    """Parse a candle file in any supported format (see the module docstring)."""
    path = Path(path)
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if time_unit not in TIME_UNITS:
        raise InvalidInput(f"unknown time unit {time_unit!r}; use one of {', '.join(TIME_UNITS)}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "binance":
        return read_binance_klines(path, timeframe=timeframe, price_type=price_type)
    if fmt == "csv":
        table = _read_text_table(path, _read_bytes(path), header=True)
        rows = np.arange(len(table), dtype=np.int64) + 2  # line numbers; line 1 is the header
        return _read_table(
            path, table, rows, fmt, mapping=mapping, time_unit=time_unit, price_type=price_type
        )
    if fmt in ("parquet", "feather"):
        _needs_pyarrow(path, fmt)
        try:
            table = pd.read_parquet(path) if fmt == "parquet" else pd.read_feather(path)
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise _bad_input(path, f"cannot read the {fmt} file ({exc})") from None
        if isinstance(table.index, pd.DatetimeIndex) and "open_time" not in table.columns:
            table = table.reset_index(names="open_time")
        rows = np.arange(len(table), dtype=np.int64)
        return _read_table(
            path, table, rows, fmt, mapping=mapping, time_unit=time_unit, price_type=price_type
        )
    return _read_freqtrade_json(path, price_type=price_type, time_unit=time_unit)


def _read_freqtrade_json(path: Path, *, price_type: PriceType, time_unit: str) -> ParsedCandles:
    try:
        entries = json.loads(_read_bytes(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _bad_input(path, f"not valid JSON ({exc})") from None
    if not isinstance(entries, list):
        raise _bad_input(
            path, "expected freqtrade's list of [timestamp, open, high, low, close, volume]"
        )
    if not entries:
        raise _bad_input(path, "no candle rows")
    reasons: dict[int, list[str]] = {}
    padded = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, list) or len(entry) != 6:
            reasons.setdefault(i, []).append("expected [timestamp, open, high, low, close, volume]")
            entry = [None] * 6
        padded.append(entry)
    table = pd.DataFrame(padded, columns=["open_time", *PRICE_FIELDS, "volume"], dtype=object)
    rows = np.arange(1, len(table) + 1, dtype=np.int64)
    times = _times_to_ms(table["open_time"], time_unit, reasons, "open_time")
    values = {
        name: _numbers(
            table[name],
            name,
            reasons,
            required=name in PRICE_FIELDS or price_type is PriceType.TRADES,
        )
        for name in (*PRICE_FIELDS, "volume")
    }
    return _assemble(times, values, table, rows, reasons, "freqtrade-json", price_type)


# --- import -------------------------------------------------------------------------------------


def _order_problems(parsed: ParsedCandles) -> list[RowProblem]:
    """Rows earlier than a row above them: a shuffled file is refused in strict mode."""
    times = parsed.columns.open_time
    if times.size < 2:
        return []
    running_max = np.maximum.accumulate(times)
    late = np.flatnonzero(times[1:] < running_max[:-1]) + 1
    return [
        RowProblem(
            row=int(parsed.row_numbers[i]),
            reasons=(
                f"out of order: open time {iso(int(times[i]))} comes after "
                f"{iso(int(running_max[i - 1]))} (the file is not sorted)",
            ),
            raw=parsed.columns.row(int(i)),
        )
        for i in late
    ]


def _snap(columns: CandleColumns, timeframe: Timeframe, tolerance_ms: int) -> CandleColumns:
    """Move open times within ``tolerance_ms`` of a grid point onto it (jittery funding stamps)."""
    offset = (columns.open_time - timeframe.origin_ms) % timeframe.ms
    shift = np.where(offset <= tolerance_ms, -offset, 0)
    shift = np.where(timeframe.ms - offset <= tolerance_ms, timeframe.ms - offset, shift)
    return CandleColumns(open_time=columns.open_time + shift, **columns.values())


def import_candles_file(
    *,
    path: Path | str,
    series: SeriesKey,
    fmt: str = "auto",
    mapping: Mapping[str, str] | None = None,
    time_unit: str = "auto",
    strict: bool = True,
    snap_ms: int = 0,
    now_ms: int | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Read a candle file and store it in one transaction.

    ``strict`` (the default for files): any bad row (unparsable, failing a check, conflicting
    duplicate, out of order) refuses the whole file with :class:`InvalidInput` listing the rows.
    ``strict=False``: bad rows are quarantined and the rest stored (a shuffled file is sorted).
    ``snap_ms`` moves open times that are at most that far off the timeframe grid onto it.
    """
    path = Path(path)
    parsed = read_candle_file(
        path,
        timeframe=series.timeframe,
        price_type=series.price_type,
        fmt=fmt,
        mapping=mapping,
        time_unit=time_unit,
    )
    columns = _snap(parsed.columns, series.timeframe, snap_ms) if snap_ms > 0 else parsed.columns
    rejected = list(parsed.problems)
    if strict:
        rejected += _order_problems(parsed)
    result = candles_upsert(
        series=series,
        frame=columns,
        source=str(path),
        strict=strict,
        now_ms=now_ms,
        row_numbers=parsed.row_numbers,
        rejected=rejected,
        progress=progress,
    )
    times = columns.open_time
    return ImportResult(
        path=str(path),
        format=parsed.format,
        rows=len(columns) + len(parsed.problems),
        upsert=result,
        first_open_time=int(times.min()) if times.size else None,
        last_open_time=int(times.max()) if times.size else None,
        problems=result.problems,
    )
