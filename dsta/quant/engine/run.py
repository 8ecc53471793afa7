"""``run_backtest``: validate, check for lookahead, run the chosen style, package the result."""

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dsta.quant.bars import Bars
from dsta.quant.engine.config import EngineConfig, FillTiming
from dsta.quant.engine.event import run_jit_callbacks, run_python_callbacks
from dsta.quant.engine.loops import run_signals
from dsta.quant.engine.result import BacktestResult
from dsta.quant.engine.state import EngineState
from dsta.quant.errors import InvalidConfig, LookaheadError, QuantError, StrategyFailed
from dsta.quant.signals import ORDER_KINDS, InvalidSignals, Signals
from dsta.quant.strategy import Strategy, resolve_strategy

# 1.1.0: optional lot sizes and minimum order values (EngineConfig.lots); nothing else changed.
ENGINE_VERSION = "1.1.0"
STYLES = ("auto", "vectorised", "event_jit", "event")

FloatArray = NDArray[np.float64]

# Relative tolerance when comparing a strategy's output on truncated bars with the full run:
# loose enough for summation-order noise, far tighter than any real peek ahead.
_CAUSAL_RTOL = 1e-9


def _call(strategy: Strategy, method: str, *args: Any) -> Any:
    try:
        return getattr(strategy, method)(*args)
    except QuantError:
        raise
    except Exception as error:
        raise StrategyFailed(strategy.name, None, error) from error


def _indicator_matrices(
    strategy: Strategy, bars: Bars, params: Mapping[str, Any]
) -> dict[str, FloatArray]:
    raw = _call(strategy, "indicators", bars, params)
    if not isinstance(raw, Mapping):
        raise InvalidSignals(f"{strategy.name}.indicators must return a dict of arrays")
    n, k = len(bars), bars.n_symbols
    out: dict[str, FloatArray] = {}
    for name, values in raw.items():
        array = np.asarray(values, dtype=np.float64)
        if array.ndim == 1 and k == 1:
            array = array[:, None]
        if array.shape != (n, k):
            raise InvalidSignals(
                f"indicator {name!r} has shape {array.shape}; expected ({n}, {k})"
                + (" or (n,) for one symbol" if k == 1 else "")
            )
        out[str(name)] = np.ascontiguousarray(array)
    return out


def _first_difference(full: FloatArray, part: FloatArray) -> int | None:
    """First bar where ``part`` (computed on truncated bars) disagrees with ``full``'s prefix."""
    prefix = full[: part.shape[0]]
    same = np.isclose(prefix, part, rtol=_CAUSAL_RTOL, atol=0.0, equal_nan=True)
    if same.all():
        return None
    return int(np.argwhere(~same)[0][0])


def check_causal(
    name: str, full: Mapping[str, FloatArray], truncated: Mapping[str, FloatArray], cut: int
) -> None:
    """Raise :class:`LookaheadError` if any array of ``truncated`` (computed from the first
    ``cut`` bars only) differs from the same prefix of ``full``."""
    for key, part in truncated.items():
        if key not in full or part.size == 0:
            continue
        bar = _first_difference(full[key], part)
        if bar is not None:
            raise LookaheadError(
                f"{name}: {key!r} at bar {bar} changes when bars from {cut} on are removed; "
                "it uses data from after the decision time",
                details={"array": key, "bar": bar, "cut": cut},
            )


def choose_style(strategy: Strategy, style: str) -> str:
    """The style to run: ``style`` if the strategy implements it, the fastest one for auto."""
    if style not in STYLES:
        raise InvalidConfig(
            f"style must be one of {list(STYLES)}, got {style!r}", details={"field": "style"}
        )
    available = type(strategy).styles()
    if style == "auto":
        if not available:
            raise InvalidConfig(f"{strategy.name} implements no style")
        return available[0]
    if style not in available:
        raise InvalidConfig(
            f"{strategy.name} does not implement the {style} style (it has {list(available)})",
            details={"field": "style"},
        )
    return style


def run_backtest(
    strategy: "str | type[Strategy] | Strategy",
    bars: Bars,
    params: Mapping[str, Any] | None = None,
    config: EngineConfig | None = None,
    *,
    style: str = "auto",
    check_lookahead: bool = True,
) -> BacktestResult:
    """Backtest ``strategy`` (a registered name, a class or an instance) on ``bars``.

    Parameters are validated first (:class:`~dsta.quant.errors.InvalidParameters`). With
    ``check_lookahead`` the strategy's signals (vectorised) or indicators (event styles) are
    recomputed on the first half of the bars and must match the full run's prefix
    (:class:`~dsta.quant.errors.LookaheadError` otherwise); a cheap guard, see
    :func:`dsta.quant.lookahead.lookahead_check` for the thorough one. Errors raised by the
    strategy's own code come out as :class:`~dsta.quant.errors.StrategyFailed`.
    """
    instance = resolve_strategy(strategy)
    values = instance.validate(params)
    config = config or EngineConfig()
    chosen = choose_style(instance, style)
    if not isinstance(bars, Bars):
        raise InvalidConfig("bars must be a dsta.quant.Bars")
    n, k = len(bars), bars.n_symbols
    cut = n // 2 if check_lookahead and n >= 4 else None
    state = EngineState(bars, config)
    if chosen == "vectorised":
        signals = _call(instance, "signals", bars, values)
        if not isinstance(signals, Signals):
            raise InvalidSignals(f"{instance.name}.signals must return a Signals")
        encoded = signals.encode(n, k)
        if cut is not None:
            early = _call(resolve_strategy(instance), "signals", bars.slice(0, cut), values)
            check_causal(instance.name, encoded, early.encode(cut, k), cut)
        kind = float(ORDER_KINDS[signals.order_kind])
        valid = float(signals.valid_bars)

        def step(start: int, stop: int) -> int:
            return int(
                run_signals(
                    start, stop, state.prices, state.vol, encoded["entry"], encoded["exit_long"],
                    encoded["exit_short"], encoded["target"], encoded["price"], kind, valid,
                    state.cfg, state.acct, state.pos, state.orders, state.pending, state.fills,
                    state.out_cash, state.out_pos, state.out_equity,
                )
            )  # fmt: skip

        state.drive(step, n)
    else:
        indicators = _indicator_matrices(instance, bars, values)
        if cut is not None and indicators:
            early_indicators = _indicator_matrices(
                resolve_strategy(instance), bars.slice(0, cut), values
            )
            check_causal(instance.name, indicators, early_indicators, cut)
        if chosen == "event_jit":
            run_jit_callbacks(instance, state, values, indicators)
        else:
            run_python_callbacks(instance, state, values, indicators)
    manifest = {
        "engine": "dsta.quant",
        "engine_version": ENGINE_VERSION,
        "style": chosen,
        "fill_timing": FillTiming(config.fill_timing).value,
        "same_bar_close": config.fill_timing == FillTiming.SAME_CLOSE,
        "sizing_units": (
            "lots (amounts truncated to amount_step, orders under min_notional skipped)"
            if config.lots.enabled
            else "fractional (no lot size, no minimum order)"
        ),
        "config": config.to_dict(),
        "strategy": {
            "name": instance.name,
            "version": instance.version,
            "class": f"{type(instance).__module__}.{type(instance).__qualname__}",
            "params": values,
        },
        "bars": {
            "count": n,
            "symbols": list(bars.symbols),
            "timeframe": bars.timeframe,
            "first_ms": int(bars.timestamps[0]),
            "last_ms": int(bars.timestamps[-1]),
        },
        "lookahead_check": {"done": cut is not None, "cut_bar": cut},
    }
    return state.finish(manifest)
