"""Deflated Sharpe, PBO and Monte Carlo: against scipy, hand cases and simulation."""

import math
from itertools import permutations

import numpy as np
import pytest
from scipy import stats

from dsta.quant import robustness as rb


def test_probabilistic_sharpe_ratio_matches_the_formula_with_scipy_moments() -> None:
    returns = np.random.default_rng(4).standard_t(5, 750) * 0.01 + 0.001

    sharpe = returns.mean() / returns.std(ddof=1)
    skew = stats.skew(returns)
    kurt = stats.kurtosis(returns, fisher=False)
    z = (sharpe - 0.02) * math.sqrt(749) / math.sqrt(1 - skew * sharpe + (kurt - 1) / 4 * sharpe**2)

    assert rb.probabilistic_sharpe_ratio(returns, 0.02) == pytest.approx(
        stats.norm.cdf(z), rel=1e-12
    )


def test_expected_max_sharpe_grows_with_trials_and_matches_simulation() -> None:
    assert rb.expected_max_sharpe(1, 0.5) == 0.0
    values = [rb.expected_max_sharpe(n, 0.01) for n in (2, 10, 100, 1_000)]
    assert values == sorted(values)
    # The False Strategy theorem's approximation vs the mean max of N normal draws.
    draws = np.random.default_rng(0).normal(0, 0.1, (20_000, 100)).max(axis=1)
    assert rb.expected_max_sharpe(100, 0.01) == pytest.approx(draws.mean(), rel=0.03)


def test_deflated_sharpe_penalises_many_trials() -> None:
    returns = np.random.default_rng(9).normal(0.0008, 0.01, 2_000)
    trial_sharpes = np.random.default_rng(1).normal(0, 0.03, 200)

    one = rb.deflated_sharpe_ratio(returns, 1, sharpe_variance=0.0)
    many = rb.deflated_sharpe_ratio(returns, 200, trial_sharpes=trial_sharpes)

    assert one.probability == pytest.approx(rb.probabilistic_sharpe_ratio(returns, 0.0))
    assert many.threshold == pytest.approx(
        rb.expected_max_sharpe(200, float(np.var(trial_sharpes, ddof=1)))
    )
    assert many.probability < one.probability
    assert many.n_observations == 2_000
    assert many.kurtosis == pytest.approx(stats.kurtosis(returns, fisher=False))


def test_pbo_is_about_half_for_noise_and_near_zero_for_a_real_edge() -> None:
    rng = np.random.default_rng(12)
    noise = rng.normal(0, 0.01, (1_600, 20))
    edge = noise.copy()
    edge[:, 3] += 0.004

    noisy = rb.probability_of_backtest_overfitting(noise, n_splits=16)
    real = rb.probability_of_backtest_overfitting(edge, n_splits=16)

    assert noisy.n_combinations == math.comb(16, 8) == noisy.logits.size
    assert 0.25 < noisy.pbo < 0.75
    assert real.pbo < 0.05
    with pytest.raises(ValueError, match="even"):
        rb.probability_of_backtest_overfitting(noise, n_splits=7)


def test_trade_reshuffle_keeps_the_final_equity_and_moves_the_path() -> None:
    pnl = [10.0, -20.0, 10.0]

    result = rb.monte_carlo_trades(pnl, initial_cash=100.0, n_sims=200, seed=5)

    assert np.all(result.final_equity == 100.0)
    # Every order's max drawdown, by hand, with the start counted as a peak.
    possible = set()
    for order in set(permutations(pnl)):
        equity, peak, worst = 100.0, 100.0, 0.0
        for value in order:
            equity += value
            peak = max(peak, equity)
            worst = min(worst, equity / peak - 1)
        possible.add(round(worst, 12))
    assert {round(v, 12) for v in result.max_drawdown} <= possible
    assert len(set(result.max_drawdown)) > 1
    assert result.probability_of_ruin == 0.0


def test_monte_carlo_is_reproducible_and_reports_ruin() -> None:
    returns = np.random.default_rng(2).normal(0.0005, 0.02, 500)

    a = rb.monte_carlo_returns(returns, initial_cash=1_000.0, n_sims=300, seed=42)
    b = rb.monte_carlo_returns(returns, initial_cash=1_000.0, n_sims=300, seed=42)
    c = rb.monte_carlo_returns(returns, initial_cash=1_000.0, n_sims=300, seed=43, block=20)

    np.testing.assert_array_equal(a.final_equity, b.final_equity)
    assert not np.array_equal(a.final_equity, c.final_equity)
    assert (a.max_drawdown <= 0).all()
    assert (a.max_drawdown >= -1).all()
    assert a.percentiles["final_equity"]["p5"] < a.percentiles["final_equity"]["p95"]
    # The bootstrap mean of log growth estimates the sample's.
    assert np.mean(np.log(a.final_equity / 1_000)) == pytest.approx(
        np.log1p(returns).sum(), abs=0.5
    )
    losing = rb.monte_carlo_trades(
        [-60.0, 5.0], initial_cash=100.0, n_sims=50, seed=1, method="bootstrap"
    )
    assert 0.5 < losing.probability_of_ruin <= 1.0
