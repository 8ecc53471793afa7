"""Lot sizes and minimum order values through a backtest request (``config.lots``), on real
candles (freqtrade's ETH/BTC 5m): the engine option, recorded in the manifest; a rule naming a
symbol the run does not trade is refused at the door."""

from typing import Any

import numpy as np
import pytest

from domains.data.models import BacktestResult
from domains.data.services.backtests.selectors import unpack_arrays
from domains.data.tests.backtests.conftest import BacktestWorker, bar, series_body
from dsta.kernel.market import SeriesKey

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/v1/backtest/"


def _run(client: Any, key: SeriesKey, config: dict[str, Any]) -> dict[str, Any]:
    body = {
        "strategy": "sma_crossover",
        "params": {"fast": 10, "slow": 30},
        "series": series_body(key),
        "end": bar(1200),
        "config": {"initial_cash": 10, **config},  # 10 BTC
        "bias_checks": False,
    }
    response = client.post(BASE + "run", body, format="json")
    assert response.status_code == 202, response.content
    return dict(response.json())


def test_lot_rules_in_the_request_truncate_fills_and_skip_small_orders(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker
) -> None:
    stepped = _run(analyst, eth_btc, {"lots": {"amount_step": {"ETH/BTC": 0.01}}})
    too_small = _run(analyst, eth_btc, {"lots": {"min_notional": 20}})  # more than the cash
    backtest_worker.drain()

    detail = analyst.get(stepped["url"]).json()
    assert detail["status"] == "succeeded", detail["error"]
    engine = detail["manifest"]["engine"]
    assert engine["config"]["lots"] == {"amount_step": {"ETH/BTC": 0.01}, "min_notional": None}
    assert engine["sizing_units"].startswith("lots")
    assert engine["orders_below_minimum"] == 0
    fills = unpack_arrays(BacktestResult.objects.get(run_id=stepped["id"]).arrays)["fills"]
    assert fills.size > 0
    lots = np.abs(fills["size"]) / 0.01
    np.testing.assert_allclose(lots, np.round(lots), rtol=1e-9, atol=1e-9)

    skipped = analyst.get(too_small["url"]).json()
    assert skipped["status"] == "succeeded", skipped["error"]
    assert skipped["manifest"]["engine"]["orders_below_minimum"] > 0
    assert skipped["metrics"]["trades"] == 0
    assert skipped["metrics"]["final_equity"] == 10


def test_a_lot_rule_for_a_symbol_the_run_does_not_trade_is_refused(
    analyst: Any, eth_btc: SeriesKey
) -> None:
    for lots, field in (
        ({"amount_step": {"BTC/USDT": 0.001}}, "lots.amount_step"),
        ({"min_notional": -5}, "lots.min_notional"),
    ):
        body = {
            "strategy": "sma_crossover",
            "series": series_body(eth_btc),
            "config": {"lots": lots},
        }
        response = analyst.post(BASE + "run", body, format="json")
        assert response.status_code == 400, lots
        error = response.json()["error"]
        assert error["code"] == "invalid_config"
        assert error["details"]["field"] == field
