"""Evaluating one parameter combination: pure (numpy and dsta.quant, no database).

What an optimisation's chunk worker does per combination, and what bench/grid.py times.
Each evaluation keeps its per-bar returns compounded into at most ``PBO_PERIODS`` equal,
contiguous periods: what the probability of backtest overfitting (CSCV) needs, at a fixed
memory cost whatever the number of bars.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from domains.data.services.backtests.errors import from_quant
from dsta.quant import Bars, EngineConfig, QuantError, Strategy, evaluate

PBO_PERIODS = 1_024
# Left out of each evaluation's stored metrics (the per-reason counts: detail, not a score).
_DROP_METRICS = ("exit_reasons",)


def period_returns(returns: np.ndarray, periods: int = PBO_PERIODS) -> np.ndarray:
    """Per-bar returns compounded into at most ``periods`` equal, contiguous periods."""
    n = returns.size
    edges = np.linspace(0, n, min(n, periods) + 1).astype(np.int64)
    logs = np.log1p(np.maximum(np.nan_to_num(returns, nan=0.0), -0.999999999))
    return np.asarray(np.expm1(np.add.reduceat(logs, edges[:-1])))


def evaluate_one(
    cls: type[Strategy],
    bars: Bars,
    combo: Mapping[str, Any],
    config: EngineConfig,
    *,
    style: str,
    check_lookahead: bool = False,
) -> tuple[dict[str, Any], np.ndarray]:
    """One configuration: ``({params, metrics} or {params, error}, its period returns)``.

    Pure (no database): what a chunk worker does per combination, and what bench/grid.py
    times. A strategy error is recorded, not raised: one bad corner of a grid does not sink
    the search.
    """
    try:
        result = evaluate(
            cls,
            bars,
            combo,
            config,
            style=style,
            keep_returns=True,
            check_lookahead=check_lookahead,
        )
    except QuantError as error:
        failure = from_quant(error)
        evaluation = {
            "params": dict(combo),
            "error": {"code": failure.code, "message": failure.message},
        }
        return evaluation, np.zeros(min(len(bars), PBO_PERIODS))
    metrics = {k: v for k, v in result.metrics.items() if k not in _DROP_METRICS}
    assert result.returns is not None
    return {"params": result.params, "metrics": metrics}, period_returns(result.returns)
