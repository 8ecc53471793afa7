"""Metrics against empyrical-reloaded (an independent implementation) on the same returns, and
small cases by hand."""

import math
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest

from dsta.quant import EngineConfig, Sizing, run_backtest
from dsta.quant import metrics as m
from dsta.quant.tests.candles import BTCUSDT_1M, ETH_BTC_5M, load_bars, load_pair


@pytest.fixture
def real_returns(shared_data: Path) -> dict[str, tuple[np.ndarray, float]]:
    """Per-bar returns of real runs, with their annualisation factors (365-day year)."""
    crossover = run_backtest(
        "sma_crossover",
        load_bars(shared_data, BTCUSDT_1M, "BTC/USDT", "1m"),
        {"fast": 5, "slow": 30},
    )
    hold = run_backtest("buy_and_hold", load_bars(shared_data, ETH_BTC_5M, "ETH/BTC", "5m"))
    noise = np.random.default_rng(7).standard_t(4, 2_000) * 0.01
    return {
        "crossover_1m": (crossover.returns, 525_600.0),
        "hold_5m": (hold.returns, 105_120.0),
        "t_noise_1d": (noise, 365.0),
    }


@pytest.mark.parametrize("case", ["crossover_1m", "hold_5m", "t_noise_1d"])
def test_ratios_match_empyrical(real_returns: dict, case: str) -> None:
    returns, ann = real_returns[case]
    assert np.std(returns) > 0

    assert m.sharpe_ratio(returns, ann) == pytest.approx(
        empyrical.sharpe_ratio(returns, annualization=ann), rel=1e-10
    )
    rf = 1e-6
    assert m.sharpe_ratio(returns, ann, rf) == pytest.approx(
        empyrical.sharpe_ratio(returns, risk_free=rf, annualization=ann), rel=1e-10
    )
    assert m.sortino_ratio(returns, ann) == pytest.approx(
        empyrical.sortino_ratio(returns, annualization=ann), rel=1e-10
    )
    assert m.sortino_ratio(returns, ann, rf) == pytest.approx(
        empyrical.sortino_ratio(returns, required_return=rf, annualization=ann), rel=1e-10
    )
    assert m.max_drawdown(returns) == pytest.approx(empyrical.max_drawdown(returns), rel=1e-10)
    assert m.cagr(returns, ann) == pytest.approx(
        empyrical.annual_return(returns, annualization=ann), rel=1e-9
    )
    assert m.annual_volatility(returns, ann) == pytest.approx(
        empyrical.annual_volatility(returns, annualization=ann), rel=1e-10
    )
    assert m.calmar_ratio(returns, ann) == pytest.approx(
        empyrical.calmar_ratio(returns, annualization=ann), rel=1e-9
    )
    assert m.total_return(returns) == pytest.approx(empyrical.cum_returns_final(returns), rel=1e-10)


def test_annualisation_is_365_days_not_252(real_returns: dict) -> None:
    returns, ann = real_returns["crossover_1m"]
    equity_default = empyrical.sharpe_ratio(returns, period="daily")  # 252: wrong for crypto 1m

    assert m.sharpe_ratio(returns, ann) == pytest.approx(
        equity_default * math.sqrt(525_600 / 252), rel=1e-10
    )


def test_drawdown_counts_the_starting_capital_as_a_peak() -> None:
    # Falls 10 % right away, recovers, then a 20 % fall from a new high of 110.
    equity = np.array([90.0, 100.0, 110.0, 88.0, 99.0, 121.0, 120.0])
    returns = m.returns_from_equity(equity, 100.0)

    np.testing.assert_allclose(
        m.drawdown_series(equity, 100.0), [-0.1, 0, 0, -0.2, -0.1, 0, -1 / 121]
    )
    assert m.max_drawdown(returns) == pytest.approx(-0.2)
    duration = m.max_drawdown_duration(equity, 100.0, np.arange(7) * 60_000)
    # Underwater bars 3 and 4 after the peak at bar 2, back above it at bar 5.
    assert duration == {"bars": 2, "start": 2, "end": 5, "recovered": True, "ms": 3 * 60_000}
    still_down = m.max_drawdown_duration(np.array([100.0, 95, 96, 97]), 100.0)
    assert still_down["bars"] == 3
    assert still_down["recovered"] is False


def test_trade_statistics_by_hand() -> None:
    stats = m.trade_stats([10.0, -5.0, 20.0, -15.0, 0.0])

    assert stats["trades"] == 5
    assert stats["win_rate"] == pytest.approx(2 / 5)
    assert stats["profit_factor"] == pytest.approx(30 / 20)
    assert stats["expectancy"] == pytest.approx(2.0)
    assert (stats["best_trade"], stats["worst_trade"]) == (20.0, -15.0)
    assert math.isinf(m.trade_stats([1.0, 2.0])["profit_factor"])
    assert math.isnan(m.trade_stats([])["win_rate"])


def test_rolling_sharpe_and_correlation_match_pandas(real_returns: dict) -> None:
    returns, ann = real_returns["t_noise_1d"]
    series = pd.Series(returns)

    expected = series.rolling(30).mean() / series.rolling(30).std() * math.sqrt(ann)
    np.testing.assert_allclose(m.rolling_sharpe(returns, 30, ann), expected, rtol=1e-8)

    matrix = np.column_stack(
        [
            returns,
            returns * 0.5 + np.roll(returns, 1),
            np.random.default_rng(1).normal(size=returns.size),
        ]
    )
    matrix[5, 1] = np.nan
    np.testing.assert_allclose(
        m.correlation_matrix(matrix), pd.DataFrame(matrix).dropna().corr(), rtol=1e-12
    )


def test_summary_and_attribution_of_a_two_symbol_run(shared_data: Path) -> None:
    bars = load_pair(shared_data)
    config = EngineConfig(sizing=Sizing("fraction", 0.5))
    result = run_backtest("donchian_breakout", bars, {"direction": "both"}, config)

    summary = m.summary(result)
    rows = m.symbol_attribution(result)

    assert summary["periods_per_year"] == 105_120
    assert summary["final_equity"] == pytest.approx(result.equity[-1])
    assert summary["sharpe"] == pytest.approx(
        empyrical.sharpe_ratio(result.returns, annualization=105_120), rel=1e-10
    )
    assert summary["fees_paid"] == pytest.approx(result.fills["fee"].sum())
    assert summary["trades"] == int((~result.trades["is_open"]).sum()) > 10
    assert 0 < summary["exposure"] <= 1
    assert summary["turnover"] > 0
    # The symbols' pnl adds up to the account's, fees included.
    assert sum(row["pnl"] for row in rows) == pytest.approx(
        result.equity[-1] - result.initial_cash, rel=1e-9
    )
    assert {row["symbol"] for row in rows} == {"ETH/BTC", "LTC/BTC"}
    assert sum(row["fees"] for row in rows) == pytest.approx(summary["fees_paid"])
