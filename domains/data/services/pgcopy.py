"""PostgreSQL binary COPY for candle columns, built and parsed with numpy (no per-row Python).

Binary COPY layout (PostgreSQL docs, "COPY ... BINARY"): an 11-byte signature, int32 flags, int32
header-extension length; then per row an int16 field count and, per field, an int32 byte length
(-1 for NULL) followed by the value in network byte order; an int16 -1 ends the stream.

Rows whose NULLs fall in the same columns have the same width, so each such group is one numpy
structured array with big-endian fields, written out with ``tobytes()``. On the way back the
query coalesces NULLs to NaN, so every row has one width and ``np.frombuffer`` reads them all.
"""

from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)

# (column name, numpy kind): "i8" -> int8/bigint, "f8" -> float8/double precision.
Column = tuple[str, str]


def encode_rows(
    columns: Sequence[Column],
    arrays: dict[str, npt.NDArray[np.generic]],
    constants: Sequence[bytes] = (),
) -> bytes:
    """Binary COPY tuples (no header/trailer) for the rows; NaN in a float array means NULL.

    An ``i8`` column may be given as float64 with NaN for NULL (a nullable integer).
    ``constants`` are text values (UTF-8) sent first in every row: a series' key columns.
    """
    rows = len(arrays[columns[0][0]])
    if rows == 0:
        return b""
    null_masks = []
    for name, _kind in columns:
        values = arrays[name]
        null_masks.append(np.isnan(values) if values.dtype.kind == "f" else None)
    nullable = [i for i, mask in enumerate(null_masks) if mask is not None and mask.any()]
    pattern = np.zeros(rows, dtype=np.int64)
    for bit, i in enumerate(nullable):
        pattern |= null_masks[i].astype(np.int64) << bit  # type: ignore[union-attr]
    parts = []
    for code in np.unique(pattern):
        index = np.flatnonzero(pattern == code) if len(nullable) else slice(None)
        null_columns = {i for bit, i in enumerate(nullable) if code >> bit & 1}
        parts.append(_encode_group(columns, arrays, index, null_columns, constants))
    return b"".join(parts)


def _encode_group(
    columns: Sequence[Column],
    arrays: dict[str, npt.NDArray[np.generic]],
    index: npt.NDArray[np.intp] | slice,
    null_columns: set[int],
    constants: Sequence[bytes],
) -> bytes:
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for j, text in enumerate(constants):
        fields += [(f"textlen{j}", ">i4"), (f"text{j}", f"S{len(text)}")]
    for i, (_name, kind) in enumerate(columns):
        fields.append((f"len{i}", ">i4"))
        if i not in null_columns:
            fields.append((f"val{i}", ">" + kind))
    first = arrays[columns[0][0]][index]
    record = np.empty(len(first), dtype=np.dtype(fields))
    record["count"] = len(constants) + len(columns)
    for j, text in enumerate(constants):
        record[f"textlen{j}"] = len(text)
        record[f"text{j}"] = text
    for i, (name, kind) in enumerate(columns):
        if i in null_columns:
            record[f"len{i}"] = -1
            continue
        record[f"len{i}"] = 8
        values = arrays[name][index]
        record[f"val{i}"] = values.astype(np.int64) if kind == "i8" else values
    return record.tobytes()


def encode_chunks(
    columns: Sequence[Column],
    arrays: dict[str, npt.NDArray[np.generic]],
    chunk_rows: int,
    constants: Sequence[bytes] = (),
) -> Iterator[tuple[int, bytes]]:
    """(rows in chunk, bytes) for a whole COPY stream: header first, trailer last."""
    rows = len(arrays[columns[0][0]])
    yield 0, HEADER
    for begin in range(0, rows, chunk_rows):
        chunk = {name: arrays[name][begin : begin + chunk_rows] for name, _ in columns}
        yield len(chunk[columns[0][0]]), encode_rows(columns, chunk, constants)
    yield 0, TRAILER


def decode_rows(payload: bytes | bytearray, columns: Sequence[Column]) -> dict[str, np.ndarray]:
    """Arrays (native byte order) from a binary COPY stream whose fields are never NULL."""
    if payload[: len(SIGNATURE)] != SIGNATURE:
        raise ValueError("not a PostgreSQL binary COPY stream")
    extension = int.from_bytes(payload[15:19], "big")
    start = 19 + extension
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, (_name, kind) in enumerate(columns):
        fields += [(f"len{i}", ">i4"), (f"val{i}", ">" + kind)]
    dtype = np.dtype(fields)
    body = len(payload) - start - len(TRAILER)
    if body % dtype.itemsize:
        raise ValueError("binary COPY rows are not all of the expected width (a NULL slipped in?)")
    record = np.frombuffer(payload, dtype=dtype, count=body // dtype.itemsize, offset=start)
    if record.size and (record["count"] != len(columns)).any():
        raise ValueError("binary COPY rows have an unexpected number of fields")
    return {
        name: record[f"val{i}"].astype(np.int64 if kind == "i8" else np.float64)
        for i, (name, kind) in enumerate(columns)
    }
