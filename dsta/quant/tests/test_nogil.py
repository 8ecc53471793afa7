"""The compiled loops release the GIL, so threads of one worker process run backtests in
parallel; results stay the same whichever thread runs them.

A jitted callback asks CPython whether its thread holds the GIL (``PyGILState_Check`` through
ctypes, which numba calls directly): inside ``run_callbacks`` it must not. The other top-level
loops take no callback, so their compile options are checked instead.
"""

import ctypes
import threading
from collections.abc import Mapping
from typing import Any

import numba as nb
import numpy as np
import pytest

from dsta.quant import BacktestResult, EngineConfig, Stops, Strategy, run_backtest
from dsta.quant.engine import kernel, loops, result
from dsta.quant.engine.loops import ON_BAR_NB_SIGNATURE
from dsta.quant.engine.nb_api import FloatArray, IntArray, nb_order_target
from dsta.quant.indicators import ema, rolling_max, rsi, sma
from dsta.quant.tests.candles import random_walk

_gil_held = ctypes.pythonapi.PyGILState_Check
_gil_held.restype = ctypes.c_int
_gil_held.argtypes = []

# Written by the probe callback: [bars seen, bars on which the GIL was held]. nb_params hands
# this very array to the callback (np.ascontiguousarray keeps a contiguous float64 array).
_SEEN = np.zeros(2)


# Not cached (a ctypes address cannot go into numba's disk cache): compiled in this process.
@nb.njit(ON_BAR_NB_SIGNATURE)
def _probe_on_bar(
    i: int,
    prices: FloatArray,
    indicators: FloatArray,
    params: FloatArray,
    pos: FloatArray,
    acct: FloatArray,
    requests: FloatArray,
    n_requests: IntArray,
) -> None:
    params[0] += 1.0
    params[1] += float(_gil_held())
    if i % 50 == 0:
        nb_order_target(requests, n_requests, 0, 1.0 if (i // 50) % 2 == 0 else 0.0)


class _GilProbe(Strategy):
    name = "tests_gil_probe"
    on_bar_nb = _probe_on_bar

    def nb_params(self, params: Mapping[str, Any]) -> FloatArray:
        return _SEEN


def test_the_compiled_callback_loop_runs_without_the_gil() -> None:
    _SEEN[:] = 0.0
    assert _gil_held() == 1  # the probe itself works: this Python thread holds it
    bars = random_walk(500, seed=3)
    outcome = run_backtest(_GilProbe, bars, style="event_jit")
    assert _SEEN[0] == 500
    assert _SEEN[1] == 0  # not one bar ran with the GIL held
    assert outcome.fills.size > 0  # the callback's orders went through as usual


@pytest.mark.parametrize(
    "dispatcher",
    [
        loops.run_signals,
        loops.run_callbacks,
        kernel.advance,
        result._trades_from_fills,
    ],
    ids=lambda d: d.py_func.__name__,
)
def test_the_top_level_engine_loops_are_compiled_nogil(dispatcher: Any) -> None:
    assert dispatcher.targetoptions.get("nogil") is True


def test_indicator_kernels_are_compiled_nogil() -> None:
    from dsta.quant import indicators

    kernels = [
        value
        for name, value in vars(indicators).items()
        if name.startswith("_") and isinstance(value, nb.core.registry.CPUDispatcher)
    ]
    assert len(kernels) >= 6
    for dispatcher in kernels:
        assert dispatcher.targetoptions.get("nogil") is True, dispatcher.py_func.__name__
    x = random_walk(300, seed=1).close[:, 0]
    for f in (sma, ema, rsi, rolling_max):
        assert np.isfinite(f(x, 14)[-1])


def _same(a: BacktestResult, b: BacktestResult) -> None:
    assert a.equity.tobytes() == b.equity.tobytes()
    assert a.positions.tobytes() == b.positions.tobytes()
    assert a.fills.tobytes() == b.fills.tobytes()
    assert a.orders.tobytes() == b.orders.tobytes()
    assert a.trades.tobytes() == b.trades.tobytes()


@pytest.mark.parametrize("style", ["vectorised", "event_jit", "event"])
def test_runs_in_parallel_threads_equal_sequential_runs(style: str) -> None:
    """Each run owns its state arrays: released loops running side by side do not mix."""
    config = EngineConfig(stops=Stops(stop_loss=0.02, trailing=0.03))
    jobs = [
        (random_walk(3_000, seed=s, symbols=1 + s % 2), {"fast": 5 + s, "slow": 30 + 3 * s})
        for s in range(6)
    ]
    sequential = [run_backtest("sma_crossover", b, p, config, style=style) for b, p in jobs]
    parallel: list[BacktestResult | None] = [None] * len(jobs)
    start = threading.Barrier(3)

    def work(offset: int) -> None:
        start.wait()
        for j in range(offset, len(jobs), 3):
            b, p = jobs[j]
            parallel[j] = run_backtest("sma_crossover", b, p, config, style=style)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for expected, got in zip(sequential, parallel, strict=True):
        assert got is not None
        _same(expected, got)
