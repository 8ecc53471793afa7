"""Pure building blocks for parameter search: evaluate one configuration, or a whole grid.

The data domain fans :func:`evaluate` out over workers; :func:`grid_search` is the same loop in
one process (and the reference the fan-out must reproduce).
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dsta.quant.bars import Bars
from dsta.quant.engine.config import EngineConfig
from dsta.quant.engine.run import run_backtest
from dsta.quant.metrics import summary
from dsta.quant.params import param_grid
from dsta.quant.strategy import Strategy, resolve_strategy


@dataclass(frozen=True)
class Evaluation:
    """One configuration's parameters, headline metrics and (optionally) per-bar returns."""

    params: dict[str, Any]
    metrics: dict[str, Any]
    returns: NDArray[np.float64] | None = None


def evaluate(
    strategy: "str | type[Strategy] | Strategy",
    bars: Bars,
    params: Mapping[str, Any] | None = None,
    config: EngineConfig | None = None,
    *,
    style: str = "auto",
    keep_returns: bool = False,
    check_lookahead: bool = True,
) -> Evaluation:
    """Backtest one configuration and summarise it (see dsta.quant.metrics.summary)."""
    result = run_backtest(
        strategy, bars, params, config, style=style, check_lookahead=check_lookahead
    )
    return Evaluation(
        params=dict(result.manifest["strategy"]["params"]),
        metrics=summary(result),
        returns=result.returns if keep_returns else None,
    )


def _score(evaluation: Evaluation, metric: str) -> float:
    value = evaluation.metrics.get(metric, math.nan)
    return (
        -math.inf
        if value is None or (isinstance(value, float) and math.isnan(value))
        else float(value)
    )


def grid_search(
    strategy: "str | type[Strategy] | Strategy",
    bars: Bars,
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    config: EngineConfig | None = None,
    *,
    metric: str = "sharpe",
    style: str = "auto",
    keep_returns: bool = False,
) -> list[Evaluation]:
    """Evaluate every combination, best ``metric`` first (NaN last).

    ``grid`` is either per-parameter value lists (their cartesian product, undeclared
    parameters at their defaults) or an explicit list of parameter dicts. Every combination is
    validated before the first backtest runs, so a bad grid fails fast. ``keep_returns`` keeps
    each run's per-bar returns (bars x 8 bytes each) for PBO / deflated Sharpe.
    """
    instance = resolve_strategy(strategy)
    if isinstance(grid, Mapping):
        fixed = {
            name: [param.default] for name, param in instance.params.items() if name not in grid
        }
        combos = param_grid(instance.params, {**fixed, **grid})
    else:
        combos = [dict(c) for c in grid]
    checked = [instance.validate(c) for c in combos]
    results = [
        evaluate(
            instance,
            bars,
            combo,
            config,
            style=style,
            keep_returns=keep_returns,
            check_lookahead=(j == 0),
        )
        for j, combo in enumerate(checked)
    ]
    return sorted(results, key=lambda e: _score(e, metric), reverse=True)
