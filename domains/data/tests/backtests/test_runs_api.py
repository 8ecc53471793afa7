"""End to end over the HTTP API with a real worker, on real candles (freqtrade's ETH/BTC 5m):
start a run, follow its job, read results, list runs; another user's run is invisible."""

from typing import Any

import numpy as np
import pytest

from domains.data.models import BacktestRun, BacktestTrade
from domains.data.selectors import candles_arrays
from domains.data.tests.backtests.conftest import ETH_BTC, BacktestWorker, bar, series_body
from dsta.kernel.jobs.api import JobStatus
from dsta.kernel.market import SeriesKey
from dsta.quant import Bars, run_backtest
from dsta.quant.metrics import summary

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/v1/backtest/"


def _reference(key: SeriesKey, start: int, end: int, params: dict[str, Any]) -> Any:
    """The same backtest run directly through dsta.quant on the same stored candles."""
    arrays = candles_arrays(series=key, start=start, end=end)
    bars = Bars.from_arrays(
        arrays["open_time"], arrays["open"], arrays["high"], arrays["low"], arrays["close"],
        arrays["volume"], symbols=(key.symbol,), timeframe="5m",
    )  # fmt: skip
    return run_backtest("sma_crossover", bars, params)


def test_a_run_goes_through_the_api_and_a_real_worker(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    body = {
        "strategy": "sma_crossover",
        "params": {"fast": 10, "slow": 30},
        "series": series_body(eth_btc),
        "start": "2018-01-10T04:55:00Z",
        "end": bar(1200),
        "config": {"fees": {"maker": 0.001, "taker": 0.001}, "initial_cash": 10_000},
    }
    response = analyst.post(BASE + "run", body, format="json")
    assert response.status_code == 202, response.content
    started = response.json()
    assert started["status"] == "queued"
    assert started["job"]["url"] == f"/api/v1/jobs/{started['job']['id']}/"
    assert started["params"] == {"fast": 10, "slow": 30, "direction": "long"}

    final = backtest_worker.finish(started["job"]["id"])
    assert final.status is JobStatus.SUCCEEDED, final.error
    assert (final.done, final.total) == (5, 5)
    job = analyst.get(started["job"]["url"]).json()
    assert job["status"] == "succeeded"
    assert job["result"]["bars"] == 1200

    detail = analyst.get(started["url"]).json()
    assert detail["status"] == "succeeded"
    reference = _reference(eth_btc, bar(0), bar(1200), {"fast": 10, "slow": 30})
    expected = summary(reference)
    assert detail["metrics"]["final_equity"] == pytest.approx(expected["final_equity"], rel=1e-12)
    assert detail["metrics"]["sharpe"] == pytest.approx(expected["sharpe"], rel=1e-12)
    assert detail["metrics"]["trades"] == expected["trades"] > 5
    manifest = detail["manifest"]
    assert manifest["data"]["bars"] == 1200
    assert manifest["data"]["start_ms"] == bar(0)
    assert manifest["data"]["end_ms"] == bar(1200)
    assert manifest["engine"]["fill_timing"] == "next_open"
    assert len(manifest["data"]["candles_sha256"]) == 64
    assert len(manifest["strategy"]["code_sha256"]) == 64
    assert detail["bias"]["lookahead"]["passed"] is True
    assert detail["bias"]["warmup"]["passed"] is True

    results = analyst.get(
        started["results_url"], {"max_points": 100, "trades_limit": 5, "trades_offset": 5}
    ).json()
    assert results["downsampled"] is True
    assert len(results["equity"]) <= 100
    times = [point[0] for point in results["equity"]]
    assert times == sorted(times)
    assert times[0] == bar(0)
    assert times[-1] == bar(1199)
    assert min(p[1] for p in results["equity"]) == pytest.approx(float(reference.equity.min()))
    assert min(p[1] for p in results["drawdown"]) == pytest.approx(expected["max_drawdown"])
    trades = results["trades"]
    assert trades["count"] == BacktestTrade.objects.filter(run_id=started["id"]).count()
    assert [t["number"] for t in trades["results"]] == [5, 6, 7, 8, 9]
    assert trades["next_offset"] == 10
    first = reference.trades[5]
    assert trades["results"][0]["entry_time_ms"] == int(first["entry_time_ms"])
    assert trades["results"][0]["pnl"] == pytest.approx(float(first["pnl"]))

    full = analyst.get(started["results_url"], {"max_points": 20_000}).json()
    assert full["downsampled"] is False
    assert np.allclose([p[1] for p in full["equity"]], reference.equity, rtol=0, atol=0)

    listed = analyst.get(BASE + "runs").json()["results"]
    assert [row["id"] for row in listed] == [started["id"]]


def test_several_symbols_share_one_account(
    analyst: Any, eth_btc: SeriesKey, ada_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    # ADA/BTC has gaps from 2018-01-15 on: the first 1,500 bars of both are complete.
    response = analyst.post(
        BASE + "run",
        {
            "strategy": "buy_and_hold",
            "series": [series_body(eth_btc), series_body(ada_btc)],
            "start": bar(0),
            "end": bar(1500),
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    assert backtest_worker.finish(response.json()["job"]["id"]).status is JobStatus.SUCCEEDED
    run = BacktestRun.objects.get(pk=response.json()["id"])
    assert run.manifest["data"]["symbols"] == ["ETH/BTC", "ADA/BTC"]
    assert [row["symbol"] for row in run.metrics["symbols"]] == ["ETH/BTC", "ADA/BTC"]
    total = sum(row["pnl"] for row in run.metrics["symbols"])
    assert total == pytest.approx(run.metrics["final_equity"] - 10_000, rel=1e-9)


def test_another_users_run_is_not_found(
    analyst: Any, other_analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    started = analyst.post(
        BASE + "run",
        {"strategy": "buy_and_hold", "series": series_body(eth_btc), "end": bar(300)},
        format="json",
    ).json()
    backtest_worker.finish(started["job"]["id"])
    run_id = started["id"]
    for path in (run_id, f"{run_id}/results", f"{run_id}/report"):
        response = other_analyst.get(BASE + path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert other_analyst.post(BASE + f"{run_id}/rerun").status_code == 404
    assert (
        other_analyst.post(BASE + "monte-carlo", {"run_id": run_id}, format="json").status_code
        == 404
    )
    for path, query in (
        ("performance", {"run": run_id}),
        ("equity-curve", {"run": run_id}),
        ("sharpe", {"run": run_id}),
    ):
        assert other_analyst.get(f"/api/v1/analytics/{path}", query).status_code == 404
    assert other_analyst.get(f"/api/v1/jobs/{started['job']['id']}/").status_code == 404
    assert other_analyst.get(BASE + "runs").json()["results"] == []
    assert analyst.get(BASE + "not-a-uuid").status_code == 404
    assert analyst.get(BASE + run_id).status_code == 200


def test_viewers_read_but_do_not_start_backtests(viewer: Any, eth_btc: SeriesKey) -> None:
    assert viewer.get(BASE + "strategies").status_code == 200
    names = [s["name"] for s in viewer.get(BASE + "strategies").json()["results"]]
    assert {"sma_crossover", "ema_crossover", "buy_and_hold"} <= set(names)
    refused = viewer.post(
        BASE + "run", {"strategy": "buy_and_hold", "series": series_body(ETH_BTC)}, format="json"
    )
    assert refused.status_code == 403
