"""Reads the backtest services share: stored range coverage, run arrays, trades, owned rows.

No model instance per bar: coverage is one aggregate query, arrays come from one npz blob.
"""

# SQL is assembled from fixed column names; values travel as parameters.
# ruff: noqa: S608

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

from domains.data.models import BacktestResult, BacktestRun, BacktestTrade
from domains.data.services.backtests.errors import NotFinished
from dsta.kernel.market import SeriesKey

_KEY_COLUMNS = ("venue", "market_type", "symbol", "price_type", "timeframe")


@dataclass(frozen=True)
class Coverage:
    """Stored bars of a series in a range: how many, first and last open time (UTC ms)."""

    count: int
    first_ms: int | None
    last_ms: int | None

    def expected(self, timeframe_ms: int) -> int:
        """Bars a gap-free series would hold from first to last."""
        if self.first_ms is None or self.last_ms is None:
            return 0
        return (self.last_ms - self.first_ms) // timeframe_ms + 1


def coverage(*, series: SeriesKey, start_ms: int | None, end_ms: int | None) -> Coverage:
    """One ``COUNT/MIN/MAX`` over the candle key index: cheap enough for a request."""
    clauses = [f"{name} = %s" for name in _KEY_COLUMNS]
    params: list[Any] = list(series.as_dict().values())
    if start_ms is not None:
        clauses.append("open_time >= %s")
        params.append(start_ms)
    if end_ms is not None:
        clauses.append("open_time < %s")
        params.append(end_ms)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), MIN(open_time), MAX(open_time) FROM data_candle WHERE "
            + " AND ".join(clauses),
            params,
        )
        count, first, last = cursor.fetchone()
    return Coverage(
        int(count), None if first is None else int(first), None if last is None else int(last)
    )


def pack_arrays(**arrays: np.ndarray) -> bytes:
    """Arrays as one compressed ``.npz`` blob (no pickle: structured dtypes store as is)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def unpack_arrays(blob: bytes | memoryview) -> dict[str, np.ndarray]:
    """The arrays of a blob made by :func:`pack_arrays`."""
    with np.load(io.BytesIO(bytes(blob)), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def run_arrays(run: BacktestRun) -> dict[str, np.ndarray]:
    """The stored per-bar arrays of a succeeded run (``not_finished`` otherwise)."""
    result = BacktestResult.objects.filter(run=run).first()
    if result is None:
        raise NotFinished(
            f"backtest {run.id} has no results (status {run.status})",
            details={"status": run.status},
        )
    return unpack_arrays(result.arrays)


def trade_rows(run: BacktestRun, *, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    """(total, one page of trades as dicts) in the engine's order."""
    trades = BacktestTrade.objects.filter(run=run).order_by("number")
    total = trades.count()
    page = trades[offset : offset + limit]
    rows: list[dict[str, Any]] = [
        dict(row)
        for row in page.values(
            "number",
            "symbol",
            "direction",
            "entry_bar",
            "exit_bar",
            "entry_time_ms",
            "exit_time_ms",
            "size",
            "entry_price",
            "exit_price",
            "fees",
            "pnl",
            "return_pct",
            "is_open",
            "exit_reason",
        )
    ]
    return total, rows


def trade_pnl(run: BacktestRun, *, closed_only: bool = True) -> np.ndarray:
    """Net pnl of the run's trades in order (closed ones only by default)."""
    trades = BacktestTrade.objects.filter(run=run).order_by("number")
    if closed_only:
        trades = trades.filter(is_open=False)
    return np.fromiter(trades.values_list("pnl", flat=True), dtype=np.float64)
