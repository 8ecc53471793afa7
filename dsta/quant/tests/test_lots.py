"""Lot sizes and minimum order values (``EngineConfig.lots``): amounts truncated toward zero to
the lot like a venue would, orders under the minimum skipped and counted; off by default."""

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsta.quant import (
    BacktestResult,
    Context,
    EngineConfig,
    Fees,
    IntParam,
    InvalidConfig,
    Lots,
    Sizing,
    Slippage,
    Stops,
    Strategy,
    run_backtest,
)
from dsta.quant.engine.kernel import lot_size
from dsta.quant.tests.candles import make_bars, random_walk
from dsta.quant.tests.scripted import event_strategy, flags, signal_strategy

FLAT = [100.0] * 6


def _lots(result: BacktestResult, step: float) -> np.ndarray:
    """Each fill's size in lots."""
    return np.asarray(np.abs(result.fills["size"]) / step)


def test_an_all_in_buy_is_truncated_to_whole_lots_and_keeps_its_change() -> None:
    bars = make_bars(FLAT)
    strategy = signal_strategy(entries=flags(6, 0))
    config = EngineConfig(initial_cash=1_000.0, fees=Fees(0.0, 0.001), lots=Lots(0.01))

    result = run_backtest(strategy, bars, config=config)

    # Unrounded: 1000 / (100 * 1.001) = 9.99000999 units; truncated to 0.01: 9.99 units.
    (fill,) = result.fills
    assert fill["size"] == pytest.approx(9.99, abs=1e-12)
    assert fill["size"] <= 1_000 / (100 * 1.001)
    # Cash left: 1000 - 999 - 0.999 of fee.
    assert result.cash[-1] == pytest.approx(0.001, abs=1e-9)
    assert result.manifest["orders_below_minimum"] == 0
    assert result.manifest["sizing_units"].startswith("lots")


def test_an_amount_is_truncated_toward_zero_on_both_sides() -> None:
    bars = make_bars(FLAT)
    strategy = event_strategy(
        {0: lambda ctx: ctx.buy(units=0.37), 2: lambda ctx: ctx.sell(units=0.58)}
    )

    result = run_backtest(strategy, bars, config=EngineConfig(lots=Lots(amount_step=0.1)))

    # 0.37 -> 0.3 bought; 0.58 -> 0.5 sold: a short of 0.2 (never more than asked).
    np.testing.assert_allclose(result.fills["size"], [0.3, -0.5], rtol=1e-12)
    assert result.positions[-1, 0] == pytest.approx(-0.2, abs=1e-12)


def test_orders_under_the_minimum_are_skipped_and_counted() -> None:
    bars = make_bars(FLAT)
    strategy = event_strategy(
        {
            0: lambda ctx: ctx.buy(units=0.04),  # under one lot of 0.05: nothing to trade
            1: lambda ctx: ctx.buy(units=0.9),  # 0.9 x 100 = 90 < 100 of minimum notional
            2: lambda ctx: ctx.buy(units=1.23),  # 1.2 (24 lots) x 100 = 120: fills
        }
    )
    config = EngineConfig(lots=Lots(amount_step=0.05, min_notional=100.0))

    result = run_backtest(strategy, bars, config=config)

    statuses = [o["status"] for o in result.orders_records()]
    assert statuses == ["rejected", "rejected", "filled"]
    np.testing.assert_allclose(result.fills["size"], [1.2], rtol=1e-12)
    assert result.manifest["orders_below_minimum"] == 2
    assert result.manifest["orders_rejected"] == 2


def test_rules_apply_per_symbol() -> None:
    bars = random_walk(200, seed=5, symbols=2)
    config = EngineConfig(sizing=Sizing("fraction", 0.5), lots=Lots(amount_step={"S1/USDT": 0.5}))

    result = run_backtest("sma_crossover", bars, {"fast": 3, "slow": 12}, config)

    first = result.fills[result.fills["symbol"] == 0]
    second = result.fills[result.fills["symbol"] == 1]
    assert second.size > 0
    assert first.size > 0
    np.testing.assert_allclose(_lots(result, 0.5)[result.fills["symbol"] == 1] % 1.0, 0, atol=1e-9)
    # S0/USDT has no rule: its amounts stay fractional.
    assert np.any(np.abs(first["size"] / 0.5 - np.round(first["size"] / 0.5)) > 1e-6)


@pytest.mark.parametrize("style", ["vectorised", "event_jit", "event"])
def test_the_three_styles_agree_with_lots(style: str) -> None:
    bars = random_walk(1_500, seed=9)
    # A position of 0.3 x equity hovers around the 2,990 minimum: some orders fall under it.
    config = EngineConfig(
        sizing=Sizing("fraction", 0.3),
        stops=Stops(stop_loss=0.01),
        lots=Lots(amount_step=0.25, min_notional=2_990.0),
    )
    params = {"fast": 5, "slow": 20, "direction": "both"}
    reference = run_backtest("sma_crossover", bars, params, config, style="vectorised")

    result = run_backtest("sma_crossover", bars, params, config, style=style)

    assert result.fills.tobytes() == reference.fills.tobytes()
    assert result.equity.tobytes() == reference.equity.tobytes()
    assert result.manifest["orders_below_minimum"] == reference.manifest["orders_below_minimum"]
    assert reference.manifest["orders_below_minimum"] > 0
    assert reference.fills.size > 0


def test_lots_are_off_by_default_and_round_trip_through_the_manifest() -> None:
    bars = random_walk(300, seed=2)
    plain = run_backtest("sma_crossover", bars, {"fast": 3, "slow": 10})
    assert plain.manifest["sizing_units"] == "fractional (no lot size, no minimum order)"
    assert plain.manifest["config"]["lots"] == {"amount_step": None, "min_notional": None}
    assert plain.manifest["orders_below_minimum"] == 0
    sizes = np.abs(plain.fills["size"])
    assert np.any(np.abs(sizes / 0.001 - np.round(sizes / 0.001)) > 1e-6)  # fractional sizes

    config = EngineConfig(lots=Lots(amount_step={"S0/USDT": 0.001}, min_notional=10.0))
    recorded = json.loads(json.dumps(config.to_dict()))
    assert EngineConfig.from_dict(recorded) == config


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Lots(amount_step=0.0), "lots.amount_step"),
        (lambda: Lots(amount_step=-1.0), "lots.amount_step"),
        (lambda: Lots(min_notional=math.inf), "lots.min_notional"),
        (lambda: Lots(amount_step=True), "lots.amount_step"),
        (lambda: Lots(amount_step={"BTC/USDT": "0.1"}), "lots.amount_step"),  # type: ignore[dict-item]
        (lambda: Lots(min_notional={"": 5.0}), "lots.min_notional"),
    ],
)
def test_bad_lot_rules_name_their_field(build: Any, field: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        build()
    assert caught.value.details["field"] == field


def test_a_rule_for_a_symbol_the_bars_do_not_trade_is_an_error() -> None:
    config = EngineConfig(lots=Lots(amount_step={"BTC-USDT": 0.001}))
    with pytest.raises(InvalidConfig, match="do not trade") as caught:
        run_backtest("sma_crossover", random_walk(100, 1), {"fast": 3, "slow": 10}, config)
    assert caught.value.details["field"] == "lots.amount_step"


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(
    size=st.floats(-1e6, 1e6, allow_nan=False),
    step=st.floats(1e-8, 1e3),
    price=st.floats(1e-4, 1e6),
    minimum=st.none() | st.floats(0.01, 1e5),
)
def test_a_truncated_amount_is_whole_lots_never_more_than_asked(
    size: float, step: float, price: float, minimum: float | None
) -> None:
    lots_asked = abs(size) / step
    if lots_asked > 1e9:
        return  # beyond float resolution of a lot count; no venue has that many lots
    traded = lot_size(size, price, step, math.nan if minimum is None else minimum)

    assert abs(traded) <= abs(size)
    assert traded == 0.0 or math.copysign(1.0, traded) == math.copysign(1.0, size)
    count = abs(traded) / step
    assert abs(count - round(count)) <= 1e-9 * max(1.0, count) + 1e-9
    if minimum is None:
        # Truncation gives up less than one lot.
        assert abs(size) - abs(traded) < step * (1 + 1e-9)
    else:
        assert traded == 0.0 or abs(traded) * price >= minimum


def test_the_rules_off_leave_the_amount_unchanged() -> None:
    for size in (0.0, 1e-300, -3.7, 12345.678):
        assert lot_size(size, 100.0, math.nan, math.nan) == size


class _RandomLongTrader(Strategy):
    """Seeded random long-only orders of every kind, a decision per bar from the past only."""

    name = "tests_random_long_trader"
    params = {"seed": IntParam(0, 0, 1_000_000)}

    def on_start(self, ctx: Context) -> None:
        self.closes = ctx.series("close")

    def on_bar(self, ctx: Context) -> None:
        rng = np.random.default_rng([ctx.params["seed"], ctx.i])
        if rng.random() > 0.4:
            return
        last = self.closes[-1]
        action = int(rng.integers(4))
        if action == 0:
            ctx.order_target(float(rng.uniform(0.0, 1.0)))
        elif action == 1:
            ctx.buy(float(rng.uniform(0.1, 1.0)), limit=last * (1 - rng.uniform(0, 0.01)))
        elif action == 2:
            ctx.sell(units=float(rng.uniform(0.0, 20.0)))
        else:
            ctx.close()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 10_000),
    step=st.sampled_from([0.001, 0.01, 0.1, 0.25, 1.0, 3.0]),
    minimum=st.none() | st.floats(1.0, 2_000.0),
    fee=st.floats(0.0, 0.003),
    slippage=st.sampled_from([Slippage(), Slippage("fixed", bps=5)]),
)
def test_every_fill_is_whole_lots_above_the_minimum_and_cash_stays_positive(
    seed: int, step: float, minimum: float | None, fee: float, slippage: Slippage
) -> None:
    bars = random_walk(120, seed)
    config = EngineConfig(
        initial_cash=5_000.0,
        fees=Fees(maker=fee, taker=fee),
        slippage=slippage,
        allow_short=False,
        lots=Lots(amount_step=step, min_notional=minimum),
    )
    params: Mapping[str, Any] = {"seed": seed}

    result = run_backtest(_RandomLongTrader, bars, params, config, style="event")

    count = _lots(result, step)
    np.testing.assert_allclose(count, np.round(count), rtol=1e-9, atol=1e-9)
    held = np.abs(result.positions[:, 0]) / step
    np.testing.assert_allclose(held, np.round(held), rtol=1e-9, atol=1e-9)
    if minimum is not None:
        notional = np.abs(result.fills["size"] * result.fills["price"])
        assert np.all(notional >= minimum * (1 - 1e-12))
    assert np.all(result.cash >= -1e-9 * config.initial_cash)
    assert np.all(result.positions >= 0.0)
    rejected = sum(o["status"] == "rejected" for o in result.orders_records())
    assert result.manifest["orders_below_minimum"] <= rejected
