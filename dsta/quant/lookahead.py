"""The thorough lookahead check: re-run on truncated bars and compare every decision.

A strategy without lookahead takes, at every bar before a cut, exactly the decisions it takes
on the full series: the same orders (bar, symbol, kind, quantity, price), hence the same fills
and equity. :func:`lookahead_check` runs the strategy on the full bars and on ``cuts``
truncations and reports the first difference. ``run_backtest``'s built-in guard only checks
signals/indicators at one cut; this one checks the whole decision path at several.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from dsta.quant.bars import Bars
from dsta.quant.engine.config import EngineConfig
from dsta.quant.engine.result import BacktestResult
from dsta.quant.engine.run import run_backtest
from dsta.quant.strategy import Strategy

_DECISION_FIELDS = ("bar", "symbol", "kind", "mode", "quantity", "price")


@dataclass(frozen=True)
class LookaheadReport:
    """``passed`` unless some decision before a cut changed; then where and what."""

    passed: bool
    cuts: tuple[int, ...]
    cut: int | None = None
    bar: int | None = None
    what: str | None = None


def first_decision_difference(
    full: BacktestResult, part: BacktestResult, cut: int
) -> tuple[int, str] | None:
    """(bar, description) of the first order, fill or equity value before ``cut`` that differs
    between a run on all bars and a run on the first ``cut`` bars, or None."""
    candidates: list[tuple[int, str]] = []
    for name, table in (("order", "orders"), ("fill", "fills")):
        a = getattr(full, table)
        a = a[a["bar"] < cut]
        b = getattr(part, table)
        b = b[b["bar"] < cut]
        fields = _DECISION_FIELDS if table == "orders" else ("bar", "symbol", "size", "price")
        for j in range(max(a.size, b.size)):
            if j >= a.size or j >= b.size:
                row = a[j] if j < a.size else b[j]
                candidates.append((int(row["bar"]), f"{name} #{j} exists in only one run"))
                break
            if any(not _same(a[j][f], b[j][f]) for f in fields):
                candidates.append((int(min(a[j]["bar"], b[j]["bar"])), f"{name} #{j} differs"))
                break
    equity = ~np.isclose(full.equity[:cut], part.equity[:cut], rtol=1e-12, atol=0.0)
    if equity.any():
        candidates.append((int(np.argmax(equity)), "equity differs"))
    return min(candidates) if candidates else None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float | np.floating):
        return bool(np.isclose(a, b, rtol=1e-12, atol=0.0, equal_nan=True))
    return bool(a == b)


def lookahead_check(
    strategy: "str | type[Strategy] | Strategy",
    bars: Bars,
    params: Mapping[str, Any] | None = None,
    config: EngineConfig | None = None,
    *,
    cuts: int | Sequence[int] = 5,
    style: str = "auto",
) -> LookaheadReport:
    """Compare decisions on the full bars with runs on truncations at ``cuts`` (a count of
    evenly spaced cut points, or explicit bar indices)."""
    config = replace(config or EngineConfig(), close_at_end=False)
    n = len(bars)
    if isinstance(cuts, int):
        points = sorted(
            {int(c) for c in np.linspace(n // 4, n - 1, max(cuts, 1)) if 2 <= int(c) < n}
        )
    else:
        points = sorted({int(c) for c in cuts if 2 <= int(c) < n})
    full = run_backtest(strategy, bars, params, config, style=style, check_lookahead=False)
    for cut in points:
        part = run_backtest(
            strategy, bars.slice(0, cut), params, config, style=style, check_lookahead=False
        )
        found = first_decision_difference(full, part, cut)
        if found is not None:
            return LookaheadReport(False, tuple(points), cut, found[0], found[1])
    return LookaheadReport(True, tuple(points))
