import math
from pathlib import Path

import numpy as np
import pytest

from dsta.quant import InvalidParameters, evaluate, grid_search, run_backtest
from dsta.quant.metrics import sharpe_ratio
from dsta.quant.tests.candles import ETH_BTC_5M, load_bars


def test_grid_search_ranks_every_combination_by_the_metric(shared_data: Path) -> None:
    bars = load_bars(shared_data, ETH_BTC_5M, "ETH/BTC", "5m")

    results = grid_search(
        "sma_crossover", bars, {"fast": [5, 10, 20], "slow": [50, 100]}, keep_returns=True
    )

    assert len(results) == 6
    sharpes = [r.metrics["sharpe"] for r in results]
    assert sharpes == sorted(sharpes, reverse=True)
    best = results[0]
    again = run_backtest("sma_crossover", bars, best.params)
    assert best.metrics["sharpe"] == pytest.approx(sharpe_ratio(again.returns, 105_120))
    assert best.returns is not None
    assert np.array_equal(best.returns, again.returns)
    assert best.params["direction"] == "long"


def test_a_bad_combination_fails_the_whole_grid_before_any_run(shared_data: Path) -> None:
    bars = load_bars(shared_data, ETH_BTC_5M, "ETH/BTC", "5m")

    with pytest.raises(InvalidParameters) as caught:
        grid_search("sma_crossover", bars, [{"fast": 5, "slow": 50}, {"fast": 60, "slow": 50}])

    assert caught.value.name == "fast"


def test_evaluate_reports_nan_not_errors_without_trades(shared_data: Path) -> None:
    bars = load_bars(shared_data, ETH_BTC_5M, "ETH/BTC", "5m").slice(0, 40)

    evaluation = evaluate("sma_crossover", bars, {"fast": 10, "slow": 50})

    assert evaluation.metrics["trades"] == 0
    assert math.isnan(evaluation.metrics["win_rate"])
    assert math.isnan(evaluation.metrics["sharpe"])
