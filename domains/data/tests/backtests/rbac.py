"""Owned-object factories for the project's RBAC matrix (tests/test_rbac_matrix.py).

The matrix needs, for every route that names an object, a way to make one owned by a given
user; these are the backtest and analytics routes'. Merge them into its ``OWNED``::

    from domains.data.tests.backtests.rbac import OWNED_BACKTEST_ROUTES
    OWNED.update(OWNED_BACKTEST_ROUTES)
"""

from collections.abc import Callable
from typing import Any

from domains.data.models import BacktestRun, MonteCarlo, Optimization, Report, WalkForward

SERIES = [
    {
        "venue": "binance",
        "market_type": "spot",
        "symbol": "BTC/USDT",
        "price_type": "trades",
        "timeframe": "1m",
    }
]


def _run(owner: Any) -> BacktestRun:
    return BacktestRun.objects.create(
        owner_id=owner.pk, strategy="sma_crossover", series=SERIES, status="succeeded"
    )


def backtest_run(owner: Any) -> dict[str, str]:
    """A (bare) succeeded run of ``owner``."""
    return {"run_id": str(_run(owner).pk)}


def optimization(owner: Any) -> dict[str, str]:
    """An optimisation of ``owner``."""
    study = Optimization.objects.create(
        owner_id=owner.pk, request={}, method="grid", metric="sharpe"
    )
    return {"study_id": str(study.pk)}


def walk_forward(owner: Any) -> dict[str, str]:
    """A walk-forward study of ``owner``."""
    return {"study_id": str(WalkForward.objects.create(owner_id=owner.pk, request={}).pk)}


def monte_carlo(owner: Any) -> dict[str, str]:
    """A Monte Carlo study of ``owner``'s run."""
    study = MonteCarlo.objects.create(
        owner_id=owner.pk, run=_run(owner), method="trades_reshuffle", n_sims=10
    )
    return {"study_id": str(study.pk)}


def report(owner: Any) -> dict[str, str]:
    """A report of ``owner``'s run."""
    made = Report.objects.create(owner_id=owner.pk, run=_run(owner), format="html")
    return {"report_id": str(made.pk)}


OWNED_BACKTEST_ROUTES: dict[str, Callable[[Any], dict[str, str]]] = {
    "api/v1/backtest/<str:run_id>": backtest_run,
    "api/v1/backtest/<str:run_id>/results": backtest_run,
    "api/v1/backtest/<str:run_id>/rerun": backtest_run,
    "api/v1/backtest/<str:run_id>/report": backtest_run,
    "api/v1/backtest/optimize/<str:study_id>": optimization,
    "api/v1/backtest/walk-forward/<str:study_id>": walk_forward,
    "api/v1/backtest/monte-carlo/<str:study_id>": monte_carlo,
    "api/v1/analytics/reports/<str:report_id>": report,
}
