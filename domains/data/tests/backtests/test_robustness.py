"""Optimisation fanned out over the worker (checked against dsta.quant's in-process grid
search), its overfitting report, cancellation, walk-forward, Monte Carlo and the bias checks."""

import time
from typing import Any

import numpy as np
import pytest

from domains.data.models import ChunkStatus, Optimization, OptimizationChunk
from domains.data.selectors import candles_arrays
from domains.data.tests.backtests import strategies
from domains.data.tests.backtests.conftest import BacktestWorker, bar, series_body
from dsta.kernel.jobs.api import JobStatus, get_job
from dsta.kernel.market import SeriesKey
from dsta.quant import Bars, grid_search

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/v1/backtest/"
START, END = bar(0), bar(1500)


def _bars(key: SeriesKey, start: int = START, end: int = END) -> Bars:
    arrays = candles_arrays(series=key, start=start, end=end)
    return Bars.from_arrays(
        arrays["open_time"], arrays["open"], arrays["high"], arrays["low"], arrays["close"],
        arrays["volume"], symbols=(key.symbol,), timeframe=key.timeframe.code,
    )  # fmt: skip


def _start(client: Any, path: str, key: SeriesKey, **body: Any) -> dict[str, Any]:
    payload = {"strategy": "sma_crossover", "series": series_body(key), "start": START, "end": END}
    response = client.post(BASE + path, {**payload, **body}, format="json")
    assert response.status_code == 202, response.content
    return dict(response.json())


def test_a_grid_fanned_out_in_chunks_matches_the_in_process_grid_search(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    space = {"fast": [5, 10, 15], "slow": {"low": 20, "high": 40, "steps": 3}}
    study = _start(analyst, "optimize", eth_btc, space=space, chunk_size=2, top=10)
    final = backtest_worker.finish(study["job"]["id"])
    assert final.status is JobStatus.SUCCEEDED, final.error
    assert final.done == final.total == 9
    body = analyst.get(study["url"]).json()
    assert (body["status"], body["combinations"], body["evaluated"]) == ("succeeded", 9, 9)
    chunks = OptimizationChunk.objects.filter(optimization_id=study["id"])
    assert chunks.count() == 5
    assert set(chunks.values_list("status", flat=True)) == {ChunkStatus.DONE}

    reference = grid_search(
        "sma_crossover", _bars(eth_btc), {"fast": [5, 10, 15], "slow": [20, 30, 40]}
    )
    assert [r["params"] for r in body["results"]] == [e.params for e in reference]
    assert [r["metrics"]["sharpe"] for r in body["results"]] == pytest.approx(
        [e.metrics["sharpe"] for e in reference], rel=1e-12
    )
    assert body["best_params"] == reference[0].params
    robustness = body["robustness"]
    assert robustness["n_trials"] == 9
    assert 0.0 <= robustness["deflated_sharpe"]["probability"] <= 1.0
    assert robustness["deflated_sharpe"]["n_trials"] == 9
    assert 0.0 <= robustness["pbo"]["probability"] <= 1.0
    assert robustness["pbo"]["n_configurations"] == 9
    assert robustness["pbo"]["n_splits"] == 16


def test_random_search_is_reproducible_from_its_seed_and_skips_invalid_draws(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    space = {"fast": {"low": 2, "high": 60}, "slow": {"low": 10, "high": 80}}
    first, second = (
        _start(analyst, "optimize", eth_btc, method="random", n_samples=6, space=space, seed=11)
        for _ in range(2)
    )
    backtest_worker.drain()
    runs = [analyst.get(s["url"]).json() for s in (first, second)]
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    assert runs[0]["results"] == runs[1]["results"]
    assert all(r["params"]["fast"] < r["params"]["slow"] for r in runs[0]["results"])
    assert runs[0]["evaluated"] == 6


def test_bayesian_search_proposes_in_rounds(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    space = {"fast": {"low": 2, "high": 20}, "slow": {"low": 25, "high": 90}}
    study = _start(
        analyst, "optimize", eth_btc, method="bayes", n_samples=10, space=space, chunk_size=3
    )
    assert backtest_worker.finish(study["job"]["id"]).status is JobStatus.SUCCEEDED
    body = analyst.get(study["url"]).json()
    assert body["evaluated"] == 10
    rounds = set(OptimizationChunk.objects.filter(optimization_id=study["id"]).values_list(
        "round", flat=True
    ))  # fmt: skip
    assert len(rounds) >= 2
    assert body["robustness"]["deflated_sharpe"]["n_trials"] == 10


def test_bad_optimisation_requests_are_refused(analyst: Any, eth_btc: SeriesKey) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"space": {}}, "invalid_input"),
        ({"space": {"speed": [1, 2]}}, "invalid_parameters"),
        ({"space": {"fast": [0, 5]}}, "invalid_parameters"),
        ({"space": {"fast": {"low": 5}}}, "invalid_parameters"),
        ({"space": {"fast": [60], "slow": [20]}}, "invalid_input"),
        ({"space": {"fast": [5]}, "metric": "luck"}, "invalid_input"),
        ({"space": {"fast": {"low": 1, "high": 1000, "steps": 400}, "slow": {
            "low": 2, "high": 10_000, "steps": 400}}}, "invalid_input"),
    ]  # fmt: skip
    payload = {"strategy": "sma_crossover", "series": series_body(eth_btc)}
    for body, code in cases:
        response = analyst.post(BASE + "optimize", {**payload, **body}, format="json")
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == code, (body, response.json())
    assert Optimization.objects.count() == 0


def _wait_until_running(job_id: str) -> None:
    """The worker thread picks the job up within milliseconds; poll its row until then."""
    deadline = time.monotonic() + 20
    while get_job(job_id).status is not JobStatus.RUNNING:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.01)


def test_cancelling_the_parent_job_stops_the_optimisation(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    strategies.RELEASE.clear()
    try:
        study = _start(
            analyst,
            "optimize",
            eth_btc,
            strategy="tests_waiting",
            space={"fast": [3, 5, 8], "slow": [20, 30]},
            chunk_size=1,
        )
        _wait_until_running(study["job"]["id"])
        cancelled = analyst.post(study["job"]["cancel_url"])
        assert cancelled.status_code == 200
    finally:
        strategies.RELEASE.set()
    final = backtest_worker.finish(study["job"]["id"])
    assert final.status is JobStatus.CANCELLED
    body = analyst.get(study["url"]).json()
    assert body["status"] == "cancelled"
    statuses = list(
        OptimizationChunk.objects.filter(optimization_id=study["id"]).values_list(
            "status", flat=True
        )
    )
    assert ChunkStatus.CANCELLED in statuses
    assert statuses.count(ChunkStatus.DONE) < 6


def test_walk_forward_optimises_in_sample_and_stitches_out_of_sample(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    space = {"fast": [5, 10], "slow": [20, 40]}
    study = _start(analyst, "walk-forward", eth_btc, space=space, train_bars=600, test_bars=200)
    assert backtest_worker.finish(study["job"]["id"]).status is JobStatus.SUCCEEDED
    body = analyst.get(study["url"], {"max_points": 10_000}).json()
    windows = body["windows"]
    assert len(windows) == 4  # (1500 - 600) // 200 full test windows
    bars = _bars(eth_btc)
    for number, window in enumerate(windows):
        train = bars.slice(number * 200, number * 200 + 600)
        expected = grid_search("sma_crossover", train, space)[0]
        assert window["best_params"] == expected.params
        assert window["in_sample"]["sharpe"] == pytest.approx(expected.metrics["sharpe"])
        assert window["test"]["bars"] == 200
    equity = body["oos_equity"]
    assert len(equity) == 800
    assert equity[0][0] == bar(600)
    assert equity[-1][0] == bar(1399)
    assert body["oos_metrics"]["windows"] == 4
    assert body["oos_metrics"]["final_equity"] == pytest.approx(equity[-1][1])
    product = np.prod([1 + w["out_of_sample"]["total_return"] for w in windows])
    assert body["oos_metrics"]["total_return"] == pytest.approx(product - 1, rel=1e-9)


def test_walk_forward_needs_room_for_a_window(analyst: Any, eth_btc: SeriesKey) -> None:
    response = analyst.post(
        BASE + "walk-forward",
        {
            "strategy": "sma_crossover",
            "series": series_body(eth_btc),
            "end": bar(500),
            "space": {"fast": [5]},
            "train_bars": 400,
            "test_bars": 200,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "one window needs train_bars + test_bars = 600" in response.json()["error"]["message"]


def test_monte_carlo_is_seeded_and_reshuffling_keeps_the_final_equity(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    run = _start(analyst, "run", eth_btc, params={"fast": 10, "slow": 30})
    backtest_worker.finish(run["job"]["id"])
    studies = [
        analyst.post(BASE + "monte-carlo", {"run_id": run["id"], **body}, format="json").json()
        for body in (
            {"method": "trades_reshuffle", "n_sims": 300, "seed": 3},
            {"method": "trades_reshuffle", "n_sims": 300, "seed": 3},
            {"method": "trades_bootstrap", "n_sims": 300, "seed": 3},
            {"method": "trades_bootstrap", "n_sims": 300, "seed": 4},
            {"method": "returns_bootstrap", "n_sims": 200, "seed": 3, "block": 12},
        )
    ]
    backtest_worker.drain()
    shuffled, again, boot3, boot4, returns = (
        analyst.get(s["url"]).json()["summary"] for s in studies
    )
    assert shuffled == again
    closed = [
        t["pnl"]
        for t in analyst.get(run["results_url"], {"trades_limit": 1000}).json()["trades"]["results"]
        if not t["is_open"]
    ]
    assert shuffled["final_equity"]["p5"] == pytest.approx(10_000 + sum(closed))
    assert shuffled["final_equity"]["p95"] == pytest.approx(10_000 + sum(closed))
    assert shuffled["max_drawdown"]["p5"] < shuffled["max_drawdown"]["p95"] <= 0
    assert boot3 != boot4
    assert boot3["final_equity"]["p5"] < boot3["final_equity"]["p95"]
    assert 0.0 <= returns["probability_of_ruin"] <= 1.0
    assert returns["block"] == 12
    fan = returns["fan"]
    assert len(fan["x"]) == len(fan["p50"]) == len(fan["actual"]) <= 200
    assert all(lo <= hi for lo, hi in zip(fan["p5"], fan["p95"], strict=True))


def test_monte_carlo_refuses_bad_requests(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    run = _start(analyst, "run", eth_btc, strategy="buy_and_hold", end=bar(200))
    backtest_worker.finish(run["job"]["id"])
    no_trades = analyst.post(BASE + "monte-carlo", {"run_id": run["id"]}, format="json")
    assert no_trades.status_code == 400
    assert "no closed trades" in no_trades.json()["error"]["message"]
    too_many = analyst.post(
        BASE + "monte-carlo", {"run_id": run["id"], "n_sims": 10**7}, format="json"
    )
    assert too_many.status_code == 400


def test_the_warm_up_check_flags_trades_while_a_recursive_indicator_settles(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    ema = _start(analyst, "run", eth_btc, strategy="ema_crossover", params={"fast": 5, "slow": 60})
    sma = _start(analyst, "run", eth_btc, params={"fast": 5, "slow": 60})
    backtest_worker.drain()
    ema_warmup = analyst.get(ema["url"]).json()["bias"]["warmup"]
    sma_warmup = analyst.get(sma["url"]).json()["bias"]["warmup"]
    # An SMA forgets its start after its window; an EMA only converges, slowly.
    assert sma_warmup["passed"] is True
    assert sma_warmup["per_array"]["ind:slow"] == 59
    assert ema_warmup["warmup_bars"] > 3 * 60
    assert ema_warmup["orders_in_warmup"] > 0
    assert ema_warmup["passed"] is False
    assert "depend on where the data starts" in ema_warmup["message"]
