"""Monte Carlo studies of a run: how much of its result was the luck of the order of events.

Methods (distributions from dsta.quant.robustness, seeded):
- ``trades_reshuffle``: the run's closed trades (net pnl) replayed in random orders. The final
  equity is the same on every path; the drawdowns and the probability of ruin are not.
- ``trades_bootstrap``: as many trades drawn with replacement: final equity varies too.
- ``returns_bootstrap``: per-bar equity returns drawn with replacement (``block`` > 1: moving
  blocks, which keep volatility clustering), compounded over the run's length.

Ruin: equity at or below ``ruin_level`` x the initial cash at any point of a path. The fan
(percentiles of equity along the path, for the chart) is drawn from up to ``FAN_SIMS`` paths of
the same method with the same seed.
"""

import math
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from domains.data.models import BacktestRun, MonteCarlo, RunStatus
from domains.data.services.backtests.analytics import returns_of
from domains.data.services.backtests.errors import NotFinished
from domains.data.services.backtests.manifest import clean_json
from domains.data.services.backtests.selectors import run_arrays, trade_pnl
from dsta.kernel.errors import DstaError, InvalidInput
from dsta.kernel.jobs.api import start_job
from dsta.quant.robustness import monte_carlo_returns, monte_carlo_trades

MC_JOB_KIND = "data.backtest.monte_carlo"
METHODS = ("trades_reshuffle", "trades_bootstrap", "returns_bootstrap")
MAX_SIMS = 100_000
FAN_SIMS = 200
FAN_POINTS = 200
# Cap on simulated values held at once for the fan (paths x steps).
FAN_BUDGET = 20_000_000
HISTOGRAM_BINS = 30
PERCENTILES = (5, 25, 50, 75, 95)


def check_monte_carlo(
    *, run: BacktestRun, method: str, n_sims: int, ruin_level: float, block: int
) -> None:
    """Synchronous checks: the run succeeded, the settings are in range, there is data."""
    if run.status != RunStatus.SUCCEEDED:
        raise NotFinished(
            f"backtest {run.id} has not succeeded (status {run.status})",
            details={"status": run.status},
        )
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {list(METHODS)}", details={"method": method})
    if not 1 <= n_sims <= MAX_SIMS:
        raise InvalidInput(f"n_sims must be in [1, {MAX_SIMS}]", details={"n_sims": n_sims})
    if not 0.0 <= ruin_level < 1.0:
        raise InvalidInput("ruin_level must be in [0, 1)", details={"ruin_level": ruin_level})
    if block < 1:
        raise InvalidInput("block must be >= 1", details={"block": block})
    if method.startswith("trades") and trade_pnl(run).size == 0:
        raise InvalidInput(
            "the run has no closed trades to reshuffle; use returns_bootstrap",
            details={"run_id": str(run.id)},
        )


def monte_carlo_start(
    *,
    run: BacktestRun,
    method: str,
    n_sims: int,
    seed: int,
    ruin_level: float,
    block: int,
    owner_id: int | None,
) -> MonteCarlo:
    """Check the request and queue the study as a job."""
    check_monte_carlo(run=run, method=method, n_sims=n_sims, ruin_level=ruin_level, block=block)
    with transaction.atomic():
        study = MonteCarlo.objects.create(
            owner_id=owner_id,
            run=run,
            method=method,
            n_sims=n_sims,
            seed=seed,
            ruin_level=ruin_level,
            block=block,
        )
        info = start_job(MC_JOB_KIND, params={"study_id": str(study.id)}, owner_id=owner_id)
        MonteCarlo.objects.filter(pk=study.pk).update(job_id=info.id)
        study.job_id = info.id
    return study


def _initial_cash(run: BacktestRun) -> float:
    return float(((run.manifest.get("engine") or {}).get("config") or {}).get("initial_cash", 1.0))


def _histogram(values: np.ndarray) -> dict[str, Any]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"edges": [], "counts": []}
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo <= 1e-9 * max(1.0, abs(hi)):
        # One value up to rounding (a reshuffle's final equity): one bin, not 30 empty ones.
        return {"edges": [lo, hi], "counts": [int(finite.size)]}
    counts, edges = np.histogram(finite, bins=HISTOGRAM_BINS, range=(lo, hi))
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def _checkpoints(steps: int) -> np.ndarray:
    return np.unique(np.linspace(0, steps - 1, min(steps, FAN_POINTS)).round().astype(np.int64))


def _fan_from_paths(paths: np.ndarray, x: list[Any], actual: np.ndarray) -> dict[str, Any]:
    bands = {f"p{p}": np.percentile(paths, p, axis=0).tolist() for p in PERCENTILES}
    return {"x": x, "paths": int(paths.shape[0]), **bands, "actual": actual.tolist()}


def _trades_fan(
    pnl: np.ndarray, initial: float, method: str, n_sims: int, seed: int
) -> dict[str, Any]:
    rng = np.random.default_rng([seed, 1])  # its own stream: the distribution's stays intact
    sims = max(1, min(n_sims, FAN_SIMS, FAN_BUDGET // max(pnl.size, 1)))
    if method == "trades_reshuffle":
        order = rng.permuted(np.tile(np.arange(pnl.size), (sims, 1)), axis=1)
    else:
        order = rng.integers(0, pnl.size, size=(sims, pnl.size))
    keep = _checkpoints(pnl.size)
    paths = (initial + np.cumsum(pnl[order], axis=1))[:, keep]
    actual = (initial + np.cumsum(pnl))[keep]
    return _fan_from_paths(paths, [int(k) + 1 for k in keep], actual)


def _returns_fan(
    returns: np.ndarray,
    timestamps: np.ndarray,
    equity: np.ndarray,
    initial: float,
    n_sims: int,
    seed: int,
    block: int,
) -> dict[str, Any]:
    rng = np.random.default_rng([seed, 1])
    n = returns.size
    logs = np.log1p(returns)
    sims = max(1, min(n_sims, FAN_SIMS, FAN_BUDGET // max(n, 1)))
    keep = _checkpoints(n)
    paths = np.empty((sims, keep.size))
    n_blocks = math.ceil(n / block)
    for sim in range(sims):
        starts = rng.integers(0, n - block + 1, size=n_blocks)
        index = (starts[:, None] + np.arange(block)).ravel()[:n]
        paths[sim] = initial * np.exp(np.cumsum(logs[index])[keep])
    return _fan_from_paths(paths, [int(t) for t in timestamps[keep]], equity[keep])


def monte_carlo_compute(
    run: BacktestRun,
    *,
    method: str,
    n_sims: int,
    seed: int,
    ruin_level: float,
    block: int = 1,
) -> dict[str, Any]:
    """The study's summary: distributions, probability of ruin, histograms and the fan."""
    initial = _initial_cash(run)
    if method.startswith("trades"):
        pnl = trade_pnl(run)
        study = monte_carlo_trades(
            pnl,
            initial_cash=initial,
            n_sims=n_sims,
            seed=seed,
            method=method.removeprefix("trades_"),
            ruin_level=ruin_level,
        )
        fan = _trades_fan(pnl, initial, method, n_sims, seed)
        observations = int(pnl.size)
    else:
        arrays = run_arrays(run)
        returns = returns_of(arrays, initial)
        if block > returns.size:
            raise InvalidInput(
                f"block must be at most the run's {returns.size} bars", details={"block": block}
            )
        study = monte_carlo_returns(
            returns,
            initial_cash=initial,
            n_sims=n_sims,
            seed=seed,
            block=block,
            ruin_level=ruin_level,
        )
        fan = _returns_fan(
            returns, arrays["timestamps"], arrays["equity"], initial, n_sims, seed, block
        )
        observations = int(returns.size)
    return clean_json(
        {
            "method": method,
            "engine_method": study.method,
            "n_sims": n_sims,
            "seed": seed,
            "block": block,
            "observations": observations,
            "initial_cash": initial,
            "ruin_level": ruin_level,
            "probability_of_ruin": study.probability_of_ruin,
            "final_equity": {
                **study.percentiles["final_equity"],
                "mean": float(np.mean(study.final_equity)),
                "histogram": _histogram(study.final_equity),
            },
            "max_drawdown": {
                **study.percentiles["max_drawdown"],
                "mean": float(np.mean(study.max_drawdown)),
                "histogram": _histogram(study.max_drawdown),
            },
            "actual": {
                "final_equity": (run.metrics or {}).get("final_equity"),
                "max_drawdown": (run.metrics or {}).get("max_drawdown"),
            },
            "fan": fan,
        }
    )


def monte_carlo_execute(*, study_id: str) -> dict[str, Any]:
    """The job's body: compute and store the study (errors stored on the row too)."""
    study = MonteCarlo.objects.select_related("run").get(pk=study_id)
    MonteCarlo.objects.filter(pk=study.pk).update(status=RunStatus.RUNNING)
    try:
        summary = monte_carlo_compute(
            study.run,
            method=study.method,
            n_sims=study.n_sims,
            seed=study.seed,
            ruin_level=study.ruin_level,
            block=study.block,
        )
    except DstaError as error:
        MonteCarlo.objects.filter(pk=study.pk).update(
            status=RunStatus.FAILED,
            error={"code": error.code, "message": error.message},
            finished_at=timezone.now(),
        )
        raise
    except Exception as error:
        MonteCarlo.objects.filter(pk=study.pk).update(
            status=RunStatus.FAILED,
            error={"code": "internal_error", "message": f"{type(error).__name__}: {error}"},
            finished_at=timezone.now(),
        )
        raise
    MonteCarlo.objects.filter(pk=study.pk).update(
        status=RunStatus.SUCCEEDED, summary=summary, finished_at=timezone.now()
    )
    return {
        "study_id": str(study.id),
        "probability_of_ruin": summary["probability_of_ruin"],
        "final_equity_p50": summary["final_equity"]["p50"],
        "max_drawdown_p50": summary["max_drawdown"]["p50"],
    }
