"""Reproducibility: what a run's manifest records, and hashes that name code, data and results.

- Strategy code: sha256 of ``inspect.getsource`` of every class of the strategy's MRO below
  ``Strategy`` (a subclass such as ``SmaCrossover`` is a few lines; its logic lives in the base
  it shares with ``EmaCrossover``), and separately of the source files of their modules (which
  hold helpers and compiled callbacks outside the class).
- Candles: ``Bars.digest()``, sha256 of the timestamps, the (field, bar, symbol) float64 price
  block and the symbol names.
- Results: sha256 of the equity curve's float64 bytes (bit-for-bit identical or not).

JSON conventions: metrics hold NaN (undefined, e.g. Sharpe without volatility) and infinity
(profit factor without a losing trade). Neither is valid JSON (PostgreSQL's jsonb refuses
them), so stored and served values use ``None`` for NaN and the strings ``"inf"``/``"-inf"``.
"""

import hashlib
import inspect
import math
import platform
from typing import Any

import numpy as np

from dsta.quant import ENGINE_VERSION, Strategy

MANIFEST_VERSION = 1


def strategy_code_hashes(cls: type[Strategy]) -> dict[str, str]:
    """``code_sha256`` over the classes' sources and ``module_sha256`` over their modules."""
    classes = [c for c in cls.__mro__ if issubclass(c, Strategy) and c is not Strategy]
    code = hashlib.sha256()
    modules = hashlib.sha256()
    seen: set[str] = set()
    for klass in classes:
        code.update(_source(klass).encode())
        module = inspect.getmodule(klass)
        if module is not None and module.__name__ not in seen:
            seen.add(module.__name__)
            modules.update(_source(module).encode())
    return {"code_sha256": code.hexdigest(), "module_sha256": modules.hexdigest()}


def _source(target: Any) -> str:
    try:
        return inspect.getsource(target)
    except (OSError, TypeError):
        # No source (a class made at run time): its qualified name is all that can be hashed,
        # and the manifest says so.
        return f"<no source: {getattr(target, '__qualname__', target)!r}>"


def equity_sha256(equity: np.ndarray) -> str:
    """sha256 of the equity curve as contiguous float64 bytes."""
    return hashlib.sha256(np.ascontiguousarray(equity, dtype=np.float64).tobytes()).hexdigest()


def clean_json(value: Any) -> Any:
    """``value`` with numpy scalars made plain, NaN as None and infinities as strings."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return [clean_json(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value


def environment() -> dict[str, str]:
    """Library versions that can change a float result (recorded, not enforced)."""
    import numba

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
    }


def build_manifest(
    *,
    cls: type[Strategy],
    engine_manifest: dict[str, Any],
    series: list[dict[str, str]],
    first_ms: int,
    end_ms: int,
    bars: int,
    candles_sha256: str,
    seed: int,
    allow_gaps: bool,
    gaps: list[dict[str, Any]],
    dropped_bars: int,
) -> dict[str, Any]:
    """The manifest stored with a run: everything ``rerun`` needs, and the engine's own."""
    return clean_json(
        {
            "manifest_version": MANIFEST_VERSION,
            "strategy": {
                "name": cls.name,
                "version": cls.version,
                "class": f"{cls.__module__}.{cls.__qualname__}",
                **strategy_code_hashes(cls),
                "params": engine_manifest["strategy"]["params"],
            },
            "data": {
                "series": series,
                "start_ms": first_ms,
                "end_ms": end_ms,
                "bars": bars,
                "symbols": engine_manifest["bars"]["symbols"],
                "timeframe": engine_manifest["bars"]["timeframe"],
                "candles_sha256": candles_sha256,
                "allow_gaps": allow_gaps,
                "gaps": gaps,
                "bars_dropped_to_align": dropped_bars,
            },
            "engine": {
                "name": engine_manifest.get("engine", "dsta.quant"),
                "version": ENGINE_VERSION,
                "style": engine_manifest["style"],
                "fill_timing": engine_manifest["fill_timing"],
                "same_bar_close": engine_manifest["same_bar_close"],
                "config": engine_manifest["config"],
                "sizing_units": engine_manifest.get("sizing_units"),
                "orders_rejected": engine_manifest.get("orders_rejected"),
                "orders_reduced_by_leverage": engine_manifest.get("orders_reduced_by_leverage"),
                "orders_below_minimum": engine_manifest.get("orders_below_minimum"),
            },
            "seed": seed,
            "environment": environment(),
        }
    )
