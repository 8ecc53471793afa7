"""Backtests on real Binance candles checked against an independent, hand-written reference."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dsta.quant import EngineConfig, Fees, run_backtest
from dsta.quant.tests.candles import BTCUSDT_1M, ETH_BTC_5M, load_bars, read_candles


def _reference_crossover(
    rows: np.ndarray, fast: int, slow: int, fee: float, cash: float
) -> tuple[float, list[float]]:
    """SMA crossover written the plain way: pandas averages, a Python loop over bars, all-in at
    the next open, fee on traded value each side. Returns final equity and trade pnls."""
    close = pd.Series(rows[:, 4])
    opens = rows[:, 1]
    f = close.rolling(fast).mean().to_numpy()
    s = close.rolling(slow).mean().to_numpy()
    units, pnls, entry_cost = 0.0, [], 0.0
    for t in range(1, len(rows) - 1):
        up = f[t] > s[t] and f[t - 1] <= s[t - 1]  # NaN compares False: no cross in the warm-up
        down = f[t] < s[t] and f[t - 1] >= s[t - 1]
        price = opens[t + 1]
        if up and units == 0.0:
            units = cash / (price * (1 + fee))
            entry_cost = cash
            cash = 0.0
        elif down and units > 0.0:
            cash = units * price * (1 - fee)
            pnls.append(cash - entry_cost)
            units = 0.0
    return cash + units * rows[-1, 4], pnls


def test_sma_crossover_matches_the_reference_loop(shared_data: Path) -> None:
    rows = read_candles(shared_data, BTCUSDT_1M)
    bars = load_bars(shared_data, BTCUSDT_1M, "BTC/USDT", "1m")
    config = EngineConfig(initial_cash=1_000.0, fees=Fees(0.001, 0.001))

    result = run_backtest("sma_crossover", bars, {"fast": 5, "slow": 20}, config)

    final, pnls = _reference_crossover(rows, 5, 20, 0.001, 1_000.0)
    closed = result.trades[~result.trades["is_open"]]
    assert len(pnls) >= 5
    np.testing.assert_allclose(closed["pnl"], pnls, rtol=1e-9)
    assert result.equity[-1] == pytest.approx(final, rel=1e-12)
    assert result.fees_paid > 0


def test_first_trades_by_hand(shared_data: Path) -> None:
    """The first two trades of the same run, priced from the file's own open prices."""
    rows = read_candles(shared_data, BTCUSDT_1M)
    bars = load_bars(shared_data, BTCUSDT_1M, "BTC/USDT", "1m")

    result = run_backtest(
        "sma_crossover", bars, {"fast": 5, "slow": 20}, EngineConfig(initial_cash=1_000.0)
    )

    first, second = result.trades_records()[:2]
    units = 1_000.0 / (rows[first["entry_bar"], 1] * 1.001)
    cash = units * rows[first["exit_bar"], 1] * 0.999
    assert first["size"] == pytest.approx(units, rel=1e-13)
    assert first["pnl"] == pytest.approx(cash - 1_000.0, rel=1e-10)
    units_2 = cash / (rows[second["entry_bar"], 1] * 1.001)
    assert second["pnl"] == pytest.approx(
        units_2 * rows[second["exit_bar"], 1] * 0.999 - cash, rel=1e-10
    )
    # Every entry fill is the open right after a fast-above-slow cross at the previous close.
    fast = pd.Series(rows[:, 4]).rolling(5).mean().to_numpy()
    slow = pd.Series(rows[:, 4]).rolling(20).mean().to_numpy()
    for trade in result.trades_records():
        t = trade["entry_bar"] - 1
        assert fast[t] > slow[t]
        assert fast[t - 1] <= slow[t - 1]


def test_buy_and_hold_on_real_candles(shared_data: Path) -> None:
    rows = read_candles(shared_data, ETH_BTC_5M)
    bars = load_bars(shared_data, ETH_BTC_5M, "ETH/BTC", "5m")

    result = run_backtest("buy_and_hold", bars, config=EngineConfig(initial_cash=1.0))

    units = 1.0 / (rows[1, 1] * 1.001)
    np.testing.assert_allclose(result.equity[1:], units * rows[1:, 4], rtol=1e-12)
    assert result.equity[0] == 1.0
    assert result.manifest["bars"]["first_ms"] == int(rows[0, 0])
