"""Reproducibility: every run stores a manifest; a rerun from it gives identical results, and a
changed candle is reported as the reason when it does not."""

from typing import Any

import pytest
from django.db import connection

from domains.data.models import BacktestResult, BacktestRun
from domains.data.services.backtests.manifest import strategy_code_hashes
from domains.data.tests.backtests.conftest import BacktestWorker, bar, series_body
from dsta.kernel.jobs.api import JobStatus
from dsta.kernel.market import SeriesKey
from dsta.quant import get_strategy

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/v1/backtest/"


def _run(client: Any, key: SeriesKey, worker: BacktestWorker, **extra: Any) -> dict[str, Any]:
    body = {
        "strategy": "ema_crossover",
        "params": {"fast": 8, "slow": 21, "direction": "both"},
        "series": series_body(key),
        "start": bar(100),
        "end": bar(900),
        "config": {
            "fees": {"maker": 0.0005, "taker": 0.001},
            "slippage": {"kind": "fixed", "bps": 2},
        },
        "seed": 7,
        **extra,
    }
    started = client.post(BASE + "run", body, format="json").json()
    assert worker.finish(started["job"]["id"]).status is JobStatus.SUCCEEDED
    return dict(client.get(started["url"]).json())


def test_the_manifest_names_code_data_engine_and_seed(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    run = _run(analyst, eth_btc, backtest_worker, config={"fill_timing": "same_close"})
    manifest = run["manifest"]
    strategy = manifest["strategy"]
    assert strategy["name"] == "ema_crossover"
    assert strategy["params"] == {"fast": 8, "slow": 21, "direction": "both"}
    assert (
        strategy["code_sha256"]
        == strategy_code_hashes(get_strategy("ema_crossover"))["code_sha256"]
    )
    # The crossover's logic lives in a base class it shares with sma_crossover: hashed too.
    assert (
        strategy["code_sha256"]
        != strategy_code_hashes(get_strategy("sma_crossover"))["code_sha256"]
    )
    assert manifest["engine"]["fill_timing"] == "same_close"
    assert manifest["engine"]["same_bar_close"] is True
    assert manifest["engine"]["version"]
    assert manifest["seed"] == 7
    data = manifest["data"]
    assert (data["start_ms"], data["end_ms"], data["bars"]) == (bar(100), bar(900), 800)
    stored = BacktestResult.objects.get(run_id=run["id"])
    assert stored.candles_sha256 == data["candles_sha256"]


def test_a_rerun_gives_identical_results(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    original = _run(analyst, eth_btc, backtest_worker)
    response = analyst.post(BASE + f"{original['id']}/rerun")
    assert response.status_code == 202
    rerun = response.json()
    assert rerun["rerun_of"] == original["id"]
    assert backtest_worker.finish(rerun["job"]["id"]).status is JobStatus.SUCCEEDED
    body = analyst.get(rerun["url"]).json()
    assert body["status"] == "succeeded"
    reproduction = body["reproduction"]
    assert reproduction["identical"] is True
    assert reproduction["mismatches"] == []
    assert reproduction["changed_inputs"] == []
    assert reproduction["equity_sha256"]["original"] == reproduction["equity_sha256"]["rerun"]
    assert body["metrics"] == original["metrics"]
    # Candles appended after the original's range do not change a rerun: it reads the
    # manifest's range, not "until now".
    assert body["manifest"]["data"]["end_ms"] == original["manifest"]["data"]["end_ms"]


def test_a_changed_candle_makes_the_rerun_fail_and_says_why(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    original = _run(analyst, eth_btc, backtest_worker)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE data_candle SET close = close * 1.02, high = high * 1.02 "
            "WHERE symbol = %s AND timeframe = %s AND open_time = %s",
            [eth_btc.symbol, "5m", bar(400)],
        )
        assert cursor.rowcount == 1
    rerun = analyst.post(BASE + f"{original['id']}/rerun").json()
    final = backtest_worker.finish(rerun["job"]["id"])
    assert final.status is JobStatus.FAILED
    assert final.error is not None
    assert final.error.code == "not_reproducible"
    assert "the candles changed since the original run" in final.error.message
    body = analyst.get(rerun["url"]).json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "not_reproducible"
    reproduction = body["reproduction"]
    assert reproduction["identical"] is False
    assert [c["input"] for c in reproduction["changed_inputs"]] == ["candles"]
    changed = reproduction["changed_inputs"][0]
    assert changed["original"] == original["manifest"]["data"]["candles_sha256"]
    assert changed["rerun"] != changed["original"]
    assert {m["what"] for m in reproduction["mismatches"]} == {"equity", "metrics"}
    # The rerun's own results are kept, to compare.
    assert analyst.get(rerun["results_url"]).status_code == 200


def test_only_a_succeeded_run_can_be_rerun(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    run = BacktestRun.objects.create(
        owner_id=analyst.user.pk,
        strategy="sma_crossover",
        series=[eth_btc.as_dict()],
        status="failed",
    )
    response = analyst.post(BASE + f"{run.id}/rerun")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_finished"
