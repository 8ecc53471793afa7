"""Analytics over stored runs: results pages, equity and drawdown, rolling Sharpe, correlation.

Long curves are downsampled for display by keeping, in each of ``max_points / 2`` equal
buckets of bars, the bar with the lowest and the one with the highest value (plus the first and
last bar): the shape and every drawdown trough survive, unlike with plain striding.
"""

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from domains.data.models import BacktestRun
from domains.data.selectors import candles_arrays
from domains.data.services.backtests.manifest import clean_json
from domains.data.services.backtests.selectors import run_arrays, trade_rows
from domains.data.services.validation import iso
from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import SeriesKey
from dsta.quant import periods_per_year
from dsta.quant.metrics import correlation_matrix, drawdown_series, rolling_sharpe

DEFAULT_POINTS = 2_000
MAX_POINTS = 20_000


def downsample_indices(values: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of at most ``max_points`` bars that keep each bucket's minimum and maximum."""
    n = values.size
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, (max_points - 2) // 2)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    # NaNs (rolling windows not yet filled) must not win the argmin/argmax.
    finite = np.isfinite(values)
    filled = np.where(finite, values, np.nanmean(values[finite]) if finite.any() else 0.0)
    picks = [0, n - 1]
    for lo, hi in itertools.pairwise(edges):
        if hi > lo:
            window = filled[lo:hi]
            picks.append(lo + int(np.argmin(window)))
            picks.append(lo + int(np.argmax(window)))
    return np.unique(np.asarray(picks, dtype=np.int64))


def _points(timestamps: np.ndarray, values: np.ndarray, max_points: int) -> list[list[Any]]:
    keep = downsample_indices(values, max_points)
    return [
        [int(t), clean_json(float(v))] for t, v in zip(timestamps[keep], values[keep], strict=True)
    ]


def check_points(max_points: int) -> int:
    """``max_points`` within [10, MAX_POINTS] (400 otherwise)."""
    if not 10 <= max_points <= MAX_POINTS:
        raise InvalidInput(
            f"max_points must be in [10, {MAX_POINTS}]", details={"max_points": max_points}
        )
    return max_points


def returns_of(arrays: dict[str, np.ndarray], initial_cash: float) -> np.ndarray:
    """Per-bar simple returns of the stored equity (the first from the initial cash)."""
    equity = arrays["equity"]
    previous = np.concatenate(([initial_cash], equity[:-1]))
    return np.asarray(equity / previous - 1.0)


def _initial_cash(run: BacktestRun) -> float:
    config = (run.manifest.get("engine") or {}).get("config") or run.config or {}
    return float(config.get("initial_cash", 10_000.0))


def equity_curve(run: BacktestRun, *, max_points: int = DEFAULT_POINTS) -> dict[str, Any]:
    """Equity and drawdown as ``[open_time_ms, value]`` points (downsampled if long)."""
    arrays = run_arrays(run)
    stamps, equity = arrays["timestamps"], arrays["equity"]
    drawdown = drawdown_series(equity, _initial_cash(run))
    return {
        "run_id": str(run.id),
        "bars": int(equity.size),
        "points": min(int(equity.size), max_points),
        "downsampled": bool(equity.size > max_points),
        "equity": _points(stamps, equity, max_points),
        "drawdown": _points(stamps, drawdown, max_points),
    }


def run_results(
    run: BacktestRun, *, max_points: int, trades_limit: int, trades_offset: int
) -> dict[str, Any]:
    """What ``GET /backtest/{id}/results`` shows: metrics, curves, a page of trades."""
    curves = equity_curve(run, max_points=max_points)
    total, trades = trade_rows(run, limit=trades_limit, offset=trades_offset)
    return {
        "run_id": str(run.id),
        "status": run.status,
        "metrics": run.metrics,
        "bias": run.bias,
        "manifest": run.manifest,
        "reproduction": run.reproduction,
        "bars": curves["bars"],
        "downsampled": curves["downsampled"],
        "equity": curves["equity"],
        "drawdown": curves["drawdown"],
        "trades": {
            "count": total,
            "limit": trades_limit,
            "offset": trades_offset,
            "next_offset": trades_offset + trades_limit
            if trades_offset + trades_limit < total
            else None,
            "results": clean_json(trades),
        },
    }


def performance(runs: Sequence[BacktestRun]) -> list[dict[str, Any]]:
    """Headline metrics of each run (with its strategy, parameters and data range)."""
    rows = []
    for run in runs:
        data = run.manifest.get("data") or {}
        rows.append(
            {
                "run_id": str(run.id),
                "status": run.status,
                "strategy": run.strategy,
                "params": run.params,
                "symbols": data.get("symbols") or [s.get("symbol") for s in run.series],
                "timeframe": data.get("timeframe"),
                "start": iso(data["start_ms"]) if data.get("start_ms") is not None else None,
                "end": iso(data["end_ms"]) if data.get("end_ms") is not None else None,
                "metrics": run.metrics,
            }
        )
    return rows


def rolling_sharpe_series(
    run: BacktestRun, *, window: int, max_points: int = DEFAULT_POINTS
) -> dict[str, Any]:
    """Rolling Sharpe ratio (annualised with the run's timeframe; 365-day year) over
    ``window`` bars of returns."""
    arrays = run_arrays(run)
    if not 2 <= window <= arrays["equity"].size:
        raise InvalidInput(
            f"window must be in [2, {arrays['equity'].size}] bars (the run's length)",
            details={"window": window},
        )
    timeframe = (run.manifest.get("data") or {}).get("timeframe")
    ann = periods_per_year(timeframe) if timeframe else math.nan
    values = rolling_sharpe(returns_of(arrays, _initial_cash(run)), window, ann)
    return {
        "run_id": str(run.id),
        "window": window,
        "periods_per_year": clean_json(ann),
        "sharpe": _points(arrays["timestamps"], values, max_points),
    }


def _matrix_body(labels: list[str], matrix: np.ndarray, observations: int) -> dict[str, Any]:
    return {
        "labels": labels,
        "matrix": clean_json(matrix),
        "observations": observations,
        "method": "pearson, on per-bar simple returns at the timestamps every series shares",
    }


def runs_correlation(runs: Sequence[BacktestRun]) -> dict[str, Any]:
    """Correlation between runs' per-bar equity returns, on the timestamps they share."""
    if len(runs) < 2:
        raise InvalidInput("give at least two runs to correlate")
    series = []
    for run in runs:
        arrays = run_arrays(run)
        series.append((arrays["timestamps"], returns_of(arrays, _initial_cash(run))))
    common = series[0][0]
    for stamps, _ in series[1:]:
        common = np.intersect1d(common, stamps, assume_unique=True)
    if common.size < 3:
        raise InvalidInput(
            "the runs share fewer than 3 bars: nothing to correlate",
            details={"shared_bars": int(common.size)},
        )
    columns = [r[np.isin(s, common, assume_unique=True)] for s, r in series]
    matrix = correlation_matrix(np.column_stack(columns))
    return _matrix_body([str(run.id) for run in runs], matrix, int(common.size))


def symbols_correlation(
    *, series: Sequence[SeriesKey], start_ms: int | None, end_ms: int | None
) -> dict[str, Any]:
    """Correlation between symbols' close-to-close returns, on the open times they share."""
    if len(series) < 2:
        raise InvalidInput("give at least two symbols to correlate")
    closes = []
    for key in series:
        arrays = candles_arrays(series=key, start=start_ms, end=end_ms)
        closes.append((arrays["open_time"], arrays["close"]))
    common = closes[0][0]
    for stamps, _ in closes[1:]:
        common = np.intersect1d(common, stamps, assume_unique=True)
    if common.size < 4:
        raise InvalidInput(
            "the series share fewer than 4 bars in that range: nothing to correlate",
            details={"shared_bars": int(common.size)},
        )
    columns = []
    for stamps, close in closes:
        aligned = close[np.isin(stamps, common, assume_unique=True)]
        columns.append(aligned[1:] / aligned[:-1] - 1.0)
    matrix = correlation_matrix(np.column_stack(columns))
    labels = [f"{key.venue} {key.symbol} {key.timeframe.code}" for key in series]
    return _matrix_body(labels, matrix, int(common.size - 1))
