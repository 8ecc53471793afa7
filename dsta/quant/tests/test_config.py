import json
from collections.abc import Callable

import numpy as np
import pytest

from dsta.quant import (
    BacktestContext,
    Context,
    EngineConfig,
    Fees,
    InvalidConfig,
    Sizing,
    Slippage,
    Stops,
    run_backtest,
)
from dsta.quant.tests.candles import random_walk


def _as_context(ctx: BacktestContext) -> Context:
    """mypy checks here that the backtester's context implements the shared protocol."""
    return ctx


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Fees(maker=-0.001), "fees.maker"),
        (lambda: Fees(taker=0.5), "fees.taker"),
        (lambda: Slippage("random"), "slippage.kind"),
        (lambda: Sizing("kelly"), "sizing.kind"),
        (lambda: Sizing("fraction", 0.0), "sizing.value"),
        (lambda: Sizing("vol_target", 0.5, 1), "sizing.vol_window"),
        (lambda: Stops(stop_loss=1.5), "stops.stop_loss"),
        (lambda: EngineConfig(initial_cash=0), "initial_cash"),
        (lambda: EngineConfig(fill_timing="same_open"), "fill_timing"),
        (lambda: EngineConfig(max_leverage=float("inf")), "max_leverage"),
    ],
)
def test_bad_settings_name_their_field(build: Callable[[], object], field: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        build()

    assert caught.value.details["field"] == field


def test_vol_target_needs_a_timeframe() -> None:
    bars = random_walk(50, 1)
    untimed = type(bars)(bars.timestamps, bars.prices, bars.symbols, None)

    with pytest.raises(InvalidConfig, match="timeframe"):
        run_backtest(
            "sma_crossover",
            untimed,
            {"fast": 3, "slow": 10},
            EngineConfig(sizing=Sizing("vol_target", 0.4)),
        )


def test_a_run_is_reproducible_from_its_manifest() -> None:
    bars = random_walk(500, 8)
    config = EngineConfig(
        fees=Fees(0.0002, 0.0007),
        slippage=Slippage("volume", bps=1, impact_bps=30),
        sizing=Sizing("vol_target", 0.6, 30),
        stops=Stops(stop_loss=0.02, trailing=0.03),
        max_leverage=2.0,
    )
    first = run_backtest("bollinger_breakout", bars, {"k": 1.5, "direction": "both"}, config)

    manifest = json.loads(json.dumps(first.manifest))
    again = run_backtest(
        manifest["strategy"]["name"],
        bars,
        manifest["strategy"]["params"],
        EngineConfig.from_dict(manifest["config"]),
        style=manifest["style"],
    )

    assert EngineConfig.from_dict(manifest["config"]) == config
    np.testing.assert_array_equal(first.equity, again.equity)
    np.testing.assert_array_equal(first.fills, again.fills)
    assert again.manifest == first.manifest
    with pytest.raises(InvalidConfig, match="bad engine config"):
        EngineConfig.from_dict({**manifest["config"], "turbo": True})
