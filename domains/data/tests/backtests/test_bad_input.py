"""Bad input: clear 4xx when the request can be checked at once, otherwise a clear error
stored on the run and the job, and the worker keeps working."""

from typing import Any

import pytest

from domains.data.models import BacktestRun
from domains.data.services.backtests.errors import GappedRange
from domains.data.services.backtests.runs import backtest_create, backtest_execute
from domains.data.services.backtests.spec import run_spec
from domains.data.tests.backtests import strategies  # noqa: F401 (registers the test strategies)
from domains.data.tests.backtests.conftest import ADA_BTC, BacktestWorker, bar, series_body
from dsta.kernel.jobs.api import JobStatus
from dsta.kernel.market import SeriesKey

BASE = "/api/v1/backtest/"


def _post(client: Any, **body: Any) -> Any:
    return client.post(BASE + "run", body, format="json")


def _error(response: Any) -> dict[str, Any]:
    return dict(response.json()["error"])


@pytest.mark.django_db
def test_unknown_strategy_and_bad_parameters_are_refused(analyst: Any, eth_btc: SeriesKey) -> None:
    series = series_body(eth_btc)
    unknown = _post(analyst, strategy="no_such_strategy", series=series)
    assert unknown.status_code == 400
    assert _error(unknown)["code"] == "unknown_strategy"
    assert "sma_crossover" in _error(unknown)["details"]["known"]

    cases = [
        ({"fast": 0}, "fast", "out of range [1, 1000]"),
        ({"fast": "10"}, "fast", "expected an integer, got str"),
        ({"fast": 10.0}, "fast", "expected an integer, got float"),
        ({"fast": True}, "fast", "expected an integer, got bool"),
        ({"fast": 60, "slow": 50}, "fast", "must be smaller than slow"),
        ({"direction": "sideways"}, "direction", "must be one of"),
        ({"speed": 3}, "speed", "unknown parameter"),
    ]
    for params, name, text in cases:
        response = _post(analyst, strategy="sma_crossover", params=params, series=series)
        assert response.status_code == 400, params
        error = _error(response)
        assert error["code"] == "invalid_parameters", params
        assert error["details"]["parameter"] == name
        assert text in error["message"], (params, error["message"])
    not_an_object = _post(analyst, strategy="sma_crossover", params=[10, 50], series=series)
    assert _error(not_an_object)["code"] == "invalid_parameters"
    assert BacktestRun.objects.count() == 0


@pytest.mark.django_db
def test_bad_engine_config_style_and_series_are_refused(analyst: Any, eth_btc: SeriesKey) -> None:
    series = series_body(eth_btc)
    for config, field in (
        ({"fees": {"maker": -0.1, "taker": 0.001}}, "fees.maker"),
        ({"fill_timing": "tomorrow"}, "fill_timing"),
        ({"initial_cash": 0}, "initial_cash"),
        ({"sizing": {"kind": "martingale"}}, "sizing.kind"),
    ):
        response = _post(analyst, strategy="sma_crossover", series=series, config=config)
        assert response.status_code == 400, config
        assert _error(response)["code"] == "invalid_config", config
        assert _error(response)["details"]["field"] == field
    unknown_key = _post(analyst, strategy="sma_crossover", series=series, config={"speed": 1})
    assert _error(unknown_key)["code"] == "invalid_config"
    style = _post(analyst, strategy="sma_crossover", series=series, style="quantum")
    assert _error(style)["code"] == "invalid_input"
    bad_series = _post(analyst, strategy="sma_crossover", series={"venue": "binance"})
    assert bad_series.status_code == 400
    assert "symbol" in _error(bad_series)["message"]
    mixed = _post(
        analyst,
        strategy="sma_crossover",
        series=[series, {**series, "symbol": "ADA-BTC", "timeframe": "1h"}],
    )
    assert "same timeframe" in _error(mixed)["message"]
    backwards = _post(analyst, strategy="sma_crossover", series=series, start=bar(10), end=bar(5))
    assert _error(backwards)["message"] == "end must be after start"


@pytest.mark.django_db
def test_an_empty_range_is_refused(analyst: Any, eth_btc: SeriesKey) -> None:
    series = series_body(eth_btc)
    empty = _post(
        analyst, strategy="sma_crossover", series=series, start="2020-01-01", end="2020-02-01"
    )
    assert empty.status_code == 400
    error = _error(empty)
    assert error["code"] == "empty_range"
    assert "no candles stored for binance ETH/BTC 5m in [2020-01-01T00:00:00Z" in error["message"]
    never_stored = _post(analyst, strategy="sma_crossover", series={**series, "symbol": "DOGE-BTC"})
    assert _error(never_stored)["code"] == "empty_range"


@pytest.mark.django_db
def test_a_gapped_range_says_where_the_gaps_are(analyst: Any, ada_btc: SeriesKey) -> None:
    # ADA/BTC 5m: five gaps on 2018-01-15 (SOURCES.md), the first is the bar at 10:10.
    response = _post(analyst, strategy="sma_crossover", series=series_body(ada_btc))
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "gapped_range"
    assert error["details"]["gap_count"] == 5
    assert error["details"]["missing_bars"] == 40
    first = error["details"]["gaps"][0]
    assert (first["start"], first["end"], first["missing_bars"]) == (
        "2018-01-15T10:10:00Z",
        "2018-01-15T10:15:00Z",
        1,
    )
    assert (
        "binance ADA/BTC 5m: 2018-01-15T10:10:00Z to 2018-01-15T10:15:00Z (1 bars)"
        in (error["message"])
    )
    assert "allow_gaps" in error["message"]
    # A range clear of the gaps runs.
    clear = _post(
        analyst, strategy="sma_crossover", series=series_body(ada_btc), end="2018-01-15T10:00Z"
    )
    assert clear.status_code == 202


@pytest.mark.django_db(transaction=True)
def test_allow_gaps_runs_on_the_bars_as_stored(
    analyst: Any, ada_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    response = _post(
        analyst, strategy="sma_crossover", series=series_body(ada_btc), allow_gaps=True
    )
    assert response.status_code == 202
    assert backtest_worker.finish(response.json()["job"]["id"]).status is JobStatus.SUCCEEDED
    data = BacktestRun.objects.get(pk=response.json()["id"]).manifest["data"]
    assert data["allow_gaps"] is True
    assert data["bars"] == 5720
    assert len(data["gaps"]) == 5


@pytest.mark.django_db(transaction=True)
def test_gaps_that_appear_after_the_request_fail_the_job(ada_btc: SeriesKey) -> None:
    spec = run_spec(strategy="sma_crossover", series=series_body(ADA_BTC))
    run = backtest_create(spec=spec, owner_id=None, check=False)
    with pytest.raises(GappedRange):
        backtest_execute(run_id=str(run.id))
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error is not None
    assert run.error["code"] == "gapped_range"
    assert run.error["details"]["gaps"][0]["start"] == "2018-01-15T10:10:00Z"


@pytest.mark.django_db(transaction=True)
def test_a_strategy_that_raises_fails_its_job_and_the_worker_carries_on(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    series = series_body(eth_btc)
    broken = _post(analyst, strategy="tests_raising", series=series, end=bar(500)).json()
    healthy = _post(analyst, strategy="buy_and_hold", series=series, end=bar(500)).json()
    failed = backtest_worker.finish(broken["job"]["id"])
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "strategy_failed"
    assert "ZeroDivisionError: the strategy divided by zero" in failed.error.message
    run = analyst.get(broken["url"]).json()
    assert run["status"] == "failed"
    assert run["error"]["code"] == "strategy_failed"
    assert run["error"]["details"]["error_type"] == "ZeroDivisionError"
    job = analyst.get(broken["job"]["url"]).json()
    assert job["error"]["code"] == "strategy_failed"
    # The same worker went on to the next message.
    assert backtest_worker.finish(healthy["job"]["id"]).status is JobStatus.SUCCEEDED
    results = analyst.get(broken["results_url"])
    assert results.status_code == 409
    assert results.json()["error"]["code"] == "not_finished"


@pytest.mark.django_db(transaction=True)
def test_a_strategy_that_peeks_ahead_is_refused_by_the_engine_guard(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    started = _post(
        analyst, strategy="tests_peeking", series=series_body(eth_btc), end=bar(400)
    ).json()
    final = backtest_worker.finish(started["job"]["id"])
    assert final.status is JobStatus.FAILED
    assert final.error is not None
    assert final.error.code == "lookahead_detected"
    assert "uses data from after the decision time" in final.error.message
