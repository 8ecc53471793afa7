"""Bias checks reported with every run: lookahead and recursive-indicator warm-up.

- **Lookahead** (``dsta.quant.lookahead_check``): the strategy is re-run on the bars cut at
  several points; every decision before a cut must be the same as on the full bars. (The
  engine's own guard, which refuses the run, only compares signals or indicators at one cut.)
- **Warm-up**: the strategy's indicators and signals are recomputed on the bars with the first
  ``offset`` bars removed and compared with the full run from that bar on. A moving window
  (SMA) agrees as soon as its window has filled; a recursive one (EMA, Wilder's RSI) carries
  its seed and converges only gradually. ``warmup_bars`` is how many bars after a start the
  values keep depending on where the data started (relative tolerance ``WARMUP_RTOL`` for
  indicators; decisions must match exactly). Orders the run placed within that many bars of
  its start are counted: they are artefacts of the start date, and the check fails when there
  are any, or when the values never converge within the data.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from dsta.quant import Bars, EngineConfig, QuantError, Strategy, lookahead_check
from dsta.quant.engine.result import BacktestResult

WARMUP_RTOL = 1e-6
LOOKAHEAD_CUTS = 5


def lookahead_report(
    cls: type[Strategy],
    bars: Bars,
    params: Mapping[str, Any],
    config: EngineConfig,
    *,
    style: str,
) -> dict[str, Any]:
    """The thorough lookahead check as a JSON-ready dict (``passed``, cuts, where it failed)."""
    if len(bars) < 8:
        return {"passed": None, "skipped": "fewer than 8 bars"}
    try:
        report = lookahead_check(cls, bars, params, config, cuts=LOOKAHEAD_CUTS, style=style)
    except QuantError as error:
        return {"passed": None, "error": {"code": error.code, "message": error.message}}
    return {
        "passed": report.passed,
        "cuts": list(report.cuts),
        "cut": report.cut,
        "bar": report.bar,
        "what": report.what,
        "message": (
            "decisions are the same on every truncation"
            if report.passed
            else f"{report.what} at bar {report.bar} when the bars are cut at {report.cut}: "
            "the strategy uses data from after its decision time"
        ),
    }


def _arrays(cls: type[Strategy], bars: Bars, params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Indicators (``ind:*``) and encoded signals (``sig:*``) the strategy computes."""
    out: dict[str, np.ndarray] = {}
    instance = cls()
    for name, values in instance.indicators(bars, params).items():
        array = np.asarray(values, dtype=np.float64)
        out[f"ind:{name}"] = array.reshape(len(bars), -1)
    if "vectorised" in cls.styles():
        encoded = cls().signals(bars, params).encode(len(bars), bars.n_symbols)
        for name, array in encoded.items():
            if array.size:
                out[f"sig:{name}"] = array
    return out


def _converged_after(full: np.ndarray, late: np.ndarray, *, exact: bool) -> int:
    """Bars of ``late`` (a run started later) before it agrees with ``full`` for good."""
    if exact:
        same = (full == late) | (np.isnan(full) & np.isnan(late))
    else:
        same = np.isclose(full, late, rtol=WARMUP_RTOL, atol=0.0, equal_nan=True)
    rows = same.reshape(same.shape[0], -1).all(axis=1)
    differing = np.flatnonzero(~rows)
    return int(differing[-1]) + 1 if differing.size else 0


def warmup_report(
    cls: type[Strategy],
    bars: Bars,
    params: Mapping[str, Any],
    result: BacktestResult,
    *,
    offset: int | None = None,
) -> dict[str, Any]:
    """The warm-up check as a JSON-ready dict (see the module docstring)."""
    n = len(bars)
    if n < 8:
        return {"passed": None, "skipped": "fewer than 8 bars"}
    offset = offset if offset is not None else max(1, n // 4)
    try:
        full = _arrays(cls, bars, params)
        late = _arrays(cls, bars.slice(offset, None), params)
    except QuantError as error:
        return {"passed": None, "error": {"code": error.code, "message": error.message}}
    except Exception as error:  # the strategy's own code: report it, the run itself succeeded
        return {"passed": None, "error": {"code": "strategy_failed", "message": repr(error)}}
    if not full:
        return {"passed": None, "skipped": "the strategy exposes no indicators or signals"}
    horizon = n - offset
    per_array: dict[str, int | None] = {}
    for name, values in full.items():
        if name not in late:
            continue
        bars_needed = _converged_after(values[offset:], late[name], exact=name.startswith("sig:"))
        per_array[name] = None if bars_needed >= horizon else bars_needed
    converged = all(v is not None for v in per_array.values())
    warmup = max((v for v in per_array.values() if v is not None), default=0)
    if not converged:
        warmup = horizon
    orders = result.orders
    in_warmup = int((orders["bar"] < warmup).sum()) if orders.size else 0
    passed = converged and in_warmup == 0
    if not converged:
        message = (
            f"values still depend on the start of the data after {horizon} bars: "
            "a recursive indicator never forgets its seed within this range"
        )
    elif in_warmup:
        message = (
            f"{in_warmup} order(s) in the first {warmup} bars, while indicators still depend "
            "on where the data starts; start the run earlier or ignore those trades"
        )
    else:
        message = f"no orders in the {warmup}-bar warm-up"
    return {
        "passed": passed,
        "offset": offset,
        "warmup_bars": warmup,
        "converged": converged,
        "orders_in_warmup": in_warmup,
        "per_array": per_array,
        "rtol": WARMUP_RTOL,
        "message": message,
    }
