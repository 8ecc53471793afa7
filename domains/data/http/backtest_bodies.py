"""How backtest rows look in API responses (one place, shared by the backtest and analytics
endpoints)."""

from typing import Any

from domains.data.models import BacktestRun, MonteCarlo, Optimization, Report, WalkForward
from domains.data.services.backtests.analytics import downsample_indices
from domains.data.services.backtests.manifest import clean_json
from domains.data.services.backtests.selectors import unpack_arrays

BASE = "/api/v1/backtest/"


def job_ref(job_id: Any) -> dict[str, Any] | None:
    """Where to follow (and cancel) the job that computes a row."""
    if job_id is None:
        return None
    return {
        "id": str(job_id),
        "url": f"/api/v1/jobs/{job_id}/",
        "cancel_url": f"/api/v1/jobs/{job_id}/cancel/",
    }


def run_body(run: BacktestRun) -> dict[str, Any]:
    """A run: request, status, job, and (when finished) manifest, metrics, bias checks."""
    return {
        "id": str(run.id),
        "status": run.status,
        "strategy": run.strategy,
        "params": run.params,
        "series": run.series,
        "start_ms": run.start_ms,
        "end_ms": run.end_ms,
        "style": run.style,
        "config": run.config,
        "allow_gaps": run.allow_gaps,
        "bias_checks": run.bias_checks,
        "seed": run.seed,
        "job": job_ref(run.job_id),
        "url": f"{BASE}{run.id}",
        "results_url": f"{BASE}{run.id}/results",
        "report_url": f"{BASE}{run.id}/report",
        "rerun_of": str(run.rerun_of_id) if run.rerun_of_id else None,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "manifest": run.manifest or None,
        "metrics": run.metrics or None,
        "bias": run.bias or None,
        "reproduction": run.reproduction,
        "error": run.error,
    }


def run_summary(run: BacktestRun) -> dict[str, Any]:
    """A run in a list: no manifest, headline metrics only."""
    metrics = run.metrics or {}
    return {
        "id": str(run.id),
        "status": run.status,
        "strategy": run.strategy,
        "params": run.params,
        "symbols": [s.get("symbol") for s in run.series],
        "timeframe": (run.series[0] or {}).get("timeframe") if run.series else None,
        "created_at": run.created_at,
        "total_return": metrics.get("total_return"),
        "sharpe": metrics.get("sharpe"),
        "max_drawdown": metrics.get("max_drawdown"),
        "url": f"{BASE}{run.id}",
        "error": run.error,
    }


def optimization_body(study: Optimization) -> dict[str, Any]:
    """An optimisation: request, progress counters, best, top results, robustness."""
    return {
        "id": str(study.id),
        "status": study.status,
        "method": study.method,
        "metric": study.metric,
        "request": study.request,
        "job": job_ref(study.job_id),
        "url": f"{BASE}optimize/{study.id}",
        "combinations": study.combinations,
        "evaluated": study.evaluated,
        "candles_sha256": study.candles_sha256 or None,
        "best_params": study.best_params,
        "best_metrics": study.best_metrics,
        "results": study.results,
        "robustness": study.robustness or None,
        "error": study.error,
        "created_at": study.created_at,
        "finished_at": study.finished_at,
    }


def walk_forward_body(study: WalkForward, *, max_points: int = 2_000) -> dict[str, Any]:
    """A walk-forward study with its stitched out-of-sample equity (downsampled)."""
    equity: list[list[Any]] = []
    if study.oos_equity:
        arrays = unpack_arrays(study.oos_equity)
        keep = downsample_indices(arrays["equity"], max_points)
        equity = [
            [int(t), float(v)]
            for t, v in zip(arrays["timestamps"][keep], arrays["equity"][keep], strict=True)
        ]
    return clean_json(
        {
            "id": str(study.id),
            "status": study.status,
            "request": study.request,
            "job": job_ref(study.job_id),
            "url": f"{BASE}walk-forward/{study.id}",
            "windows": study.windows,
            "oos_metrics": study.oos_metrics or None,
            "oos_equity": equity,
            "candles_sha256": study.candles_sha256 or None,
            "error": study.error,
            "created_at": study.created_at.isoformat(),
            "finished_at": study.finished_at.isoformat() if study.finished_at else None,
        }
    )


def monte_carlo_body(study: MonteCarlo) -> dict[str, Any]:
    """A Monte Carlo study and its summary."""
    return {
        "id": str(study.id),
        "status": study.status,
        "run_id": str(study.run_id),
        "method": study.method,
        "n_sims": study.n_sims,
        "seed": study.seed,
        "ruin_level": study.ruin_level,
        "block": study.block,
        "job": job_ref(study.job_id),
        "url": f"{BASE}monte-carlo/{study.id}",
        "summary": study.summary or None,
        "error": study.error,
        "created_at": study.created_at,
        "finished_at": study.finished_at,
    }


def report_body(report: Report) -> dict[str, Any]:
    """A report's status and where to download it."""
    return {
        "id": str(report.id),
        "run_id": str(report.run_id),
        "format": report.format,
        "status": report.status,
        "job": job_ref(report.job_id),
        "url": f"/api/v1/analytics/reports/{report.id}",
        "download_url": f"/api/v1/analytics/reports/{report.id}?download=true",
        "size": report.size,
        "sha256": report.sha256 or None,
        "error": report.error,
        "created_at": report.created_at,
        "finished_at": report.finished_at,
    }
