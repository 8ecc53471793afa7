"""Backtest speed: dsta.quant's styles beside vectorbt, backtesting.py and a bare numba loop.

    .venv/bin/python bench/backtest.py [--bars 1000000] [--repeats 3] [--seed 7]

One run, the same data and strategy for everyone: SMA(10) / SMA(50) crossover, long only, all
in, 0.1 % fee per side, decided at a bar's close and filled at the next bar's open, fractional
sizes. The bars are a geometric random walk of 1-minute bars (fixed seed); at 0.1 % a side a
strategy that trades every ~70 bars loses nearly everything on random data, so the final equity
is tiny: the point is the time, and that the engines agree. They agree while the account is
worth something: vectorbt (min_size=1e-8 by default) and backtesting.py (whole multiples of its
1e-8 fractional unit) stop trading once the account buys less than 1e-8 BTC, which dsta.quant
(no minimum order) does not; so the equity is compared over the bars where it is >= 1 USDT.

Timed (best of --repeats, after a warm-up run on small data so no compile time is counted):
  floor        one single-purpose numba function: SMAs, crossings, fills, equity in one loop
  vectorised   dsta.quant run_backtest(style="vectorised"): signals, lookahead guard,
               compiled simulation, equity, fills, orders, trades
  event_jit    dsta.quant run_backtest(style="event_jit"): jitted on_bar_nb callback
  event        dsta.quant run_backtest(style="event"): Python on_bar(ctx) per bar
  vectorbt     vbt.MA crossings + Portfolio.from_signals(price=open, shifted signals) + value()
  backtesting  backtesting.py FractionalBacktest with a self.I(SMA) / crossover strategy (once)

Peers are the "bench" extra (pip install -e .[bench]); a missing one is skipped with a message.
"""

import argparse
import importlib.util
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bar would garble the table

from dsta.quant import Bars, EngineConfig, Fees, run_backtest

FAST, SLOW, FEE, CASH = 10, 50, 0.001, 10_000.0


def make_bars(n: int, seed: int) -> Bars:
    """1-minute geometric random walk: 30 % annualised volatility, consistent OHLC."""
    rng = np.random.default_rng(seed)
    sigma = 0.3 / math.sqrt(525_600)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, sigma, n)))
    open_ = np.r_[30_000.0, close[:-1]]
    wiggle = np.abs(rng.normal(0.0, sigma / 2, n))
    high = np.maximum(open_, close) * (1 + wiggle)
    low = np.minimum(open_, close) * (1 - wiggle)
    volume = rng.uniform(1, 50, n)
    stamps = 1_577_836_800_000 + 60_000 * np.arange(n, dtype=np.int64)
    return Bars.from_arrays(
        stamps, open_, high, low, close, volume, symbols=("BTC/USDT",), timeframe="1m"
    )


@nb.njit(cache=True)
def floor_loop(
    open_: np.ndarray, close: np.ndarray, fast: int, slow: int, fee: float, cash: float
) -> np.ndarray:
    """The whole backtest in one pass: the least a general engine can cost."""
    n = close.size
    equity = np.empty(n)
    sum_fast = 0.0
    sum_slow = 0.0
    prev_fast = np.nan
    prev_slow = np.nan
    units = 0.0
    pending = 0
    for i in range(n):
        if pending == 1:
            units = cash / (open_[i] * (1.0 + fee))
            cash = 0.0
        elif pending == -1:
            cash = units * open_[i] * (1.0 - fee)
            units = 0.0
        pending = 0
        sum_fast += close[i]
        sum_slow += close[i]
        if i >= fast:
            sum_fast -= close[i - fast]
        if i >= slow:
            sum_slow -= close[i - slow]
        f = sum_fast / fast if i >= fast - 1 else np.nan
        s = sum_slow / slow if i >= slow - 1 else np.nan
        if f > s and prev_fast <= prev_slow and units == 0.0:
            pending = 1
        elif f < s and prev_fast >= prev_slow and units > 0.0:
            pending = -1
        prev_fast = f
        prev_slow = s
        equity[i] = cash + units * close[i]
    return equity


def run_floor(bars: Bars) -> np.ndarray:
    return floor_loop(
        bars.column("open").copy(), bars.column("close").copy(), FAST, SLOW, FEE, CASH
    )


def run_project(style: str) -> Callable[[Bars], np.ndarray]:
    config = EngineConfig(initial_cash=CASH, fees=Fees(maker=FEE, taker=FEE))

    def run(bars: Bars) -> np.ndarray:
        return run_backtest(
            "sma_crossover", bars, {"fast": FAST, "slow": SLOW}, config, style=style
        ).equity

    return run


def run_vectorbt(bars: Bars) -> np.ndarray:
    import vectorbt as vbt

    index = pd.date_range("2020-01-01", periods=len(bars), freq="1min")
    close = pd.Series(bars.column("close"), index=index)
    open_ = pd.Series(bars.column("open"), index=index)
    fast = vbt.MA.run(close, FAST)
    slow = vbt.MA.run(close, SLOW)
    # Decided at t's close, filled at t+1's open: shift the signals, trade at the open.
    entries = fast.ma_crossed_above(slow).shift(1, fill_value=False)
    exits = fast.ma_crossed_below(slow).shift(1, fill_value=False)
    portfolio = vbt.Portfolio.from_signals(
        close, entries, exits, price=open_, fees=FEE, init_cash=CASH, freq="1min"
    )
    return np.asarray(portfolio.value())


def run_backtesting_py(bars: Bars) -> np.ndarray:
    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest, crossover

    def sma(values: np.ndarray, n: int) -> np.ndarray:
        return pd.Series(values).rolling(n).mean().to_numpy()

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, FAST)
            self.slow = self.I(sma, self.data.Close, SLOW)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    frame = pd.DataFrame(
        {
            name.capitalize(): bars.column(name)
            for name in ("open", "high", "low", "close", "volume")
        },
        index=pd.date_range("2020-01-01", periods=len(bars), freq="1min"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test = FractionalBacktest(frame, SmaCross, cash=CASH, commission=FEE, fractional_unit=1e-8)
        stats = test.run()
    return np.asarray(stats["_equity_curve"]["Equity"])


def best_time(
    function: Callable[[Bars], np.ndarray], bars: Bars, repeats: int
) -> tuple[float, np.ndarray]:
    best = math.inf
    equity = np.empty(0)
    for _ in range(repeats):
        start = time.perf_counter()
        equity = function(bars)
        best = min(best, time.perf_counter() - start)
    return best, equity


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    bars = make_bars(args.bars, args.seed)
    warm = make_bars(2_000, args.seed + 1)
    engines: list[tuple[str, Callable[[Bars], np.ndarray], int]] = [
        ("floor (numba loop)", run_floor, args.repeats),
        ("dsta vectorised", run_project("vectorised"), args.repeats),
        ("dsta event_jit", run_project("event_jit"), args.repeats),
        ("dsta event (Python)", run_project("event"), args.repeats),
    ]
    peer_runs: list[tuple[str, str, Callable[[Bars], np.ndarray], int]] = [
        ("vectorbt", "vectorbt", run_vectorbt, args.repeats),
        ("backtesting", "backtesting.py", run_backtesting_py, 1),
    ]
    for module, label, peer_run, repeats in peer_runs:
        if importlib.util.find_spec(module) is None:
            print(f"skipped {label}: not installed (pip install -e '.[bench]')")
        else:
            engines.append((label, peer_run, repeats))

    print(
        f"{len(bars):,} 1m bars, SMA({FAST})/SMA({SLOW}) crossover, fee {FEE:.1%}, next-open fills"
    )
    print()
    results: dict[str, tuple[float, np.ndarray]] = {}
    for label, function, repeats in engines:
        function(warm)  # compile / import outside the timing
        results[label] = best_time(function, bars, repeats)

    reference = results["dsta vectorised"][1]
    peers = {name: results[name][0] for name in ("vectorbt", "backtesting.py") if name in results}
    meaningful = reference >= 1.0  # see the docstring: peers stop trading below their minimum size
    header = f"{'engine':<22}{'seconds':>10}{'bars/s':>14}{'final equity':>16}{'max rel diff':>14}"
    for peer in peers:
        header += f"{'x ' + peer:>17}"
    print(header)
    for label, (seconds, equity) in results.items():
        diff = float(np.max(np.abs(equity - reference)[meaningful] / reference[meaningful]))
        line = f"{label:<22}{seconds:>10.4f}{len(bars) / seconds:>14,.0f}"
        line += f"{equity[-1]:>16.6g}{diff:>14.2e}"
        for peer_seconds in peers.values():
            line += f"{peer_seconds / seconds:>17.1f}"
        print(line)
    print("\n'x peer' = peer seconds / engine seconds (above 1: faster than the peer).")
    print(
        "max rel diff = largest relative difference of the equity curve from dsta vectorised,"
        f" over the {int(meaningful.sum()):,} bars where it is >= 1 USDT."
    )
    targets: list[tuple[str, Any]] = []
    if "vectorbt" in peers:
        targets.append(
            (
                "vectorised at least as fast as vectorbt",
                peers["vectorbt"] / results["dsta vectorised"][0] >= 1,
            )
        )
    if "backtesting.py" in peers:
        for label in ("dsta event_jit", "dsta event (Python)"):
            ratio = peers["backtesting.py"] / results[label][0]
            targets.append((f"{label} at least 10x backtesting.py ({ratio:.1f}x)", ratio >= 10))
    for text, met in targets:
        print(f"target: {text}: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
