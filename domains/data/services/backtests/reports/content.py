"""What a report shows, computed once for the HTML and the PDF renderers."""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from domains.data.models import BacktestRun, MonteCarlo, RunStatus
from domains.data.services.backtests.analytics import downsample_indices
from domains.data.services.backtests.errors import NotFinished
from domains.data.services.backtests.montecarlo import monte_carlo_compute
from domains.data.services.backtests.selectors import run_arrays, trade_pnl
from dsta.kernel.errors import DstaError
from dsta.quant.metrics import drawdown_series

CHART_POINTS = 1_500
MARKERS = 400
FAN_DEFAULT_SIMS = 500


@dataclass(frozen=True)
class ReportContent:
    """Series (downsampled for drawing), tables and text of one run's report."""

    run: BacktestRun
    timestamps: np.ndarray
    equity: np.ndarray
    drawdown: np.ndarray
    price_symbol: str
    price_times: np.ndarray
    price: np.ndarray
    entries: list[tuple[float, float, int]]
    exits: list[tuple[float, float]]
    monthly: pd.DataFrame  # rows: years, columns: 1..12 (+ "year"), fractions or NaN
    monte_carlo: dict[str, Any] | None
    trades_shown: int
    trades_total: int
    notes: list[str] = field(default_factory=list)


def monthly_returns(timestamps: np.ndarray, equity: np.ndarray, initial: float) -> pd.DataFrame:
    """Calendar-month returns (UTC) of the equity: a year x month table, plus the year."""
    index = pd.to_datetime(timestamps, unit="ms", utc=True)
    closes = pd.Series(equity, index=index).resample("ME").last().dropna()
    previous = closes.shift(1)
    previous.iloc[0] = initial
    returns = closes / previous - 1.0
    table = pd.DataFrame(
        {"year": returns.index.year, "month": returns.index.month, "value": returns.to_numpy()}
    ).pivot(index="year", columns="month", values="value")
    table = table.reindex(columns=range(1, 13))
    yearly = pd.Series(equity, index=index).resample("YE").last().dropna()
    yearly_previous = yearly.shift(1)
    yearly_previous.iloc[0] = initial
    table["year"] = (yearly / yearly_previous - 1.0).to_numpy()
    return table


def _monte_carlo(run: BacktestRun) -> tuple[dict[str, Any] | None, str | None]:
    """The run's latest finished Monte Carlo study, or a default one computed now."""
    study = (
        MonteCarlo.objects.filter(run=run, status=RunStatus.SUCCEEDED)
        .order_by("-created_at")
        .first()
    )
    if study is not None:
        return study.summary, None
    closed = trade_pnl(run).size
    method = "trades_reshuffle" if closed >= 2 else "returns_bootstrap"
    try:
        summary = monte_carlo_compute(
            run, method=method, n_sims=FAN_DEFAULT_SIMS, seed=run.seed, ruin_level=0.5
        )
    except (DstaError, ValueError) as error:
        return None, f"Monte Carlo not drawn: {error}"
    return summary, f"Monte Carlo: {method}, {FAN_DEFAULT_SIMS} paths, seed {run.seed}"


def report_content(run: BacktestRun) -> ReportContent:
    """Gather everything the report draws (raises ``not_finished`` for an unfinished run)."""
    if run.status != RunStatus.SUCCEEDED:
        raise NotFinished(
            f"backtest {run.id} has not succeeded (status {run.status}): nothing to report",
            details={"status": run.status},
        )
    arrays = run_arrays(run)
    stamps, equity = arrays["timestamps"], arrays["equity"]
    config = (run.manifest.get("engine") or {}).get("config") or {}
    initial = float(config.get("initial_cash", 10_000.0))
    drawdown = drawdown_series(equity, initial)
    keep = np.union1d(
        downsample_indices(equity, CHART_POINTS), downsample_indices(drawdown, CHART_POINTS)
    )
    close = arrays["close"][:, 0]
    price_keep = downsample_indices(close, CHART_POINTS)
    trades = run.trades.filter(symbol=run.manifest["data"]["symbols"][0]).order_by("number")
    total = trades.count()
    fields = ("entry_time_ms", "entry_price", "exit_time_ms", "exit_price", "direction", "is_open")
    shown = list(trades.values(*fields)[:MARKERS])
    entries = [(float(t["entry_time_ms"]), t["entry_price"], t["direction"]) for t in shown]
    exits = [(float(t["exit_time_ms"]), t["exit_price"]) for t in shown if not t["is_open"]]
    notes = []
    if total > MARKERS:
        notes.append(f"price chart marks the first {MARKERS} of {total} trades")
    monte_carlo, note = _monte_carlo(run)
    if note:
        notes.append(note)
    return ReportContent(
        run=run,
        timestamps=stamps[keep],
        equity=equity[keep],
        drawdown=drawdown[keep],
        price_symbol=run.manifest["data"]["symbols"][0],
        price_times=stamps[price_keep],
        price=close[price_keep],
        entries=entries,
        exits=exits,
        monthly=monthly_returns(stamps, equity, initial),
        monte_carlo=monte_carlo,
        trades_shown=len(shown),
        trades_total=total,
        notes=notes,
    )
