"""Walk-forward fanned out over the workers: one chunk per window, the same results as the
sequential computation, progress in windows, cancel and failure propagation. Real candles:
freqtrade's ETH/BTC 5m (``eth_btc``)."""

import time
from typing import Any

import pytest

from domains.data.models import ChunkStatus, OptimizationChunk, WalkForward
from domains.data.selectors import candles_arrays
from domains.data.services.backtests.manifest import clean_json
from domains.data.services.backtests.selectors import unpack_arrays
from domains.data.services.backtests.walkforward import walk_forward_local
from domains.data.tests.backtests import strategies
from domains.data.tests.backtests.conftest import (
    FIVE_MINUTES,
    BacktestWorker,
    bar,
    series_body,
)
from dsta.kernel.jobs.api import JobStatus, get_job
from dsta.kernel.market import SeriesKey
from dsta.quant import Bars

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/v1/backtest/"
START, END = bar(0), bar(1500)


def _bars(key: SeriesKey) -> Bars:
    arrays = candles_arrays(series=key, start=START, end=END)
    return Bars.from_arrays(
        arrays["open_time"], arrays["open"], arrays["high"], arrays["low"], arrays["close"],
        arrays["volume"], symbols=(key.symbol,), timeframe=key.timeframe.code,
    )  # fmt: skip


def _start(client: Any, key: SeriesKey, **body: Any) -> dict[str, Any]:
    payload = {"strategy": "sma_crossover", "series": series_body(key), "start": START, "end": END}
    response = client.post(BASE + "walk-forward", {**payload, **body}, format="json")
    assert response.status_code == 202, response.content
    return dict(response.json())


@pytest.mark.parametrize(
    "body",
    [
        # A grid on rolling windows whose test windows overlap (step < test).
        {"space": {"fast": [3, 5, 10], "slow": [20, 40]}, "train_bars": 400, "test_bars": 150,
         "step_bars": 100},
        # Random draws (one seeded stream across windows) on an expanding window.
        {"method": "random", "n_samples": 5, "seed": 7, "anchored": True,
         "space": {"fast": {"low": 2, "high": 15}, "slow": {"low": 20, "high": 60}},
         "train_bars": 300, "test_bars": 200, "metric": "sortino"},
    ],
    ids=["grid_rolling", "random_anchored"],
)  # fmt: skip
def test_the_fanned_out_walk_forward_equals_the_sequential_one(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker, body: dict[str, Any]
) -> None:
    study = _start(analyst, eth_btc, **body)
    final = backtest_worker.finish(study["job"]["id"])
    assert final.status is JobStatus.SUCCEEDED, final.error
    row = WalkForward.objects.get(pk=study["id"])
    chunks = OptimizationChunk.objects.filter(walk_forward=row).order_by("number")
    windows = len(row.windows)
    assert windows >= 5
    # One chunk per window, each done; the job counted windows.
    assert [(c.window or {})["number"] for c in chunks] == list(range(windows))
    assert set(chunks.values_list("status", flat=True)) == {ChunkStatus.DONE}
    assert final.done == final.total == windows
    assert "windows done" in final.message

    reference = walk_forward_local(row.request, _bars(eth_btc), FIVE_MINUTES)
    assert row.windows == reference.windows
    assert row.oos_metrics == clean_json(reference.oos_metrics)
    assert row.oos_equity is not None
    stored = unpack_arrays(row.oos_equity)
    assert stored["equity"].tobytes() == reference.equity.tobytes()
    assert stored["timestamps"].tobytes() == reference.timestamps.tobytes()
    # The windows did search different combinations when drawn at random.
    if body.get("method") == "random":
        assert len({str(c.combos) for c in chunks}) == windows


def _wait_until_running(job_id: str) -> None:
    deadline = time.monotonic() + 20
    while get_job(job_id).status is not JobStatus.RUNNING:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.01)


def test_cancelling_a_walk_forward_stops_its_windows(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    strategies.RELEASE.clear()
    try:
        study = _start(
            analyst,
            eth_btc,
            strategy="tests_waiting",
            space={"fast": [3, 5], "slow": [20, 30]},
            train_bars=300,
            test_bars=150,
        )
        _wait_until_running(study["job"]["id"])
        assert analyst.post(study["job"]["cancel_url"]).status_code == 200
    finally:
        strategies.RELEASE.set()
    final = backtest_worker.finish(study["job"]["id"])
    assert final.status is JobStatus.CANCELLED
    assert analyst.get(study["url"]).json()["status"] == "cancelled"
    statuses = list(
        OptimizationChunk.objects.filter(walk_forward_id=study["id"]).values_list(
            "status", flat=True
        )
    )
    assert len(statuses) == 8  # (1500 - 300) // 150 windows
    assert ChunkStatus.CANCELLED in statuses
    assert statuses.count(ChunkStatus.DONE) < len(statuses)
    assert ChunkStatus.PENDING not in statuses
    assert ChunkStatus.RUNNING not in statuses


def test_a_failing_window_fails_the_walk_forward_with_the_strategy_error(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    study = _start(
        analyst,
        eth_btc,
        strategy="tests_raising",
        space={"period": [5, 8]},
        train_bars=300,
        test_bars=300,
    )
    final = backtest_worker.finish(study["job"]["id"])
    assert final.status is JobStatus.FAILED
    assert final.error is not None
    assert final.error.code == "strategy_failed"
    body = analyst.get(study["url"]).json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "strategy_failed"
    assert "divided by zero" in body["error"]["message"]
    assert body["error"]["message"].startswith("window ")
    open_chunks = OptimizationChunk.objects.filter(
        walk_forward_id=study["id"], status__in=[ChunkStatus.PENDING, ChunkStatus.RUNNING]
    )
    assert not open_chunks.exists()
    assert body["windows"] == []  # no partial result stored
