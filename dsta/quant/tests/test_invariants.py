"""Properties that hold for every run, checked by hypothesis over random bars, strategies and
engine settings: the account always balances, no fill uses a price from after its decision,
and decisions before a bar never depend on bars after it."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsta.quant import (
    Bars,
    Context,
    EngineConfig,
    Fees,
    IntParam,
    Sizing,
    Slippage,
    Stops,
    Strategy,
    run_backtest,
)
from dsta.quant.tests.candles import ETH_BTC_5M, load_bars, random_walk

# shared_data is a read-only path: sharing it across examples is what we want.
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@st.composite
def configs(draw: st.DrawFn) -> EngineConfig:
    sizing = draw(
        st.sampled_from(
            [
                Sizing("fraction", 1.0),
                Sizing("fraction", 0.3),
                Sizing("fixed", 2.5),
                Sizing("vol_target", 0.8, 10),
            ]
        )
    )
    slippage = draw(
        st.sampled_from(
            [Slippage(), Slippage("fixed", bps=7), Slippage("volume", bps=1, impact_bps=50)]
        )
    )
    stop = st.none() | st.floats(0.002, 0.05)
    return EngineConfig(
        fees=Fees(maker=draw(st.floats(0, 0.002)), taker=draw(st.floats(0, 0.003))),
        slippage=slippage,
        sizing=sizing,
        stops=Stops(stop_loss=draw(stop), take_profit=draw(stop), trailing=draw(stop)),
        fill_timing=draw(st.sampled_from(["next_open", "same_close"])),
        max_leverage=draw(st.sampled_from([1.0, 2.0])),
        allow_short=draw(st.booleans()),
        close_at_end=draw(st.booleans()),
    )


class RandomTrader(Strategy):
    """Places seeded random market, limit and stop orders of every kind; the decisions of bar t
    depend on the seed, t and the closes up to t only."""

    name = "random_trader"
    params = {"seed": IntParam(0, 0, 1_000_000), "eager": IntParam(0, 0, 1)}

    def on_start(self, ctx: Context) -> None:
        self.closes = [ctx.series("close", s) for s in range(len(ctx.symbols))]

    def on_bar(self, ctx: Context) -> None:
        if ctx.params["eager"]:
            # Reading the account forces the engine to catch up at every bar.
            assert ctx.equity > -1e300
        rng = np.random.default_rng([ctx.params["seed"], ctx.i])
        if rng.random() > 0.3:
            return
        s = int(rng.integers(len(ctx.symbols)))
        last = self.closes[s][-1]
        action = int(rng.integers(6))
        if action == 0:
            ctx.order_target(float(rng.uniform(-1.2, 1.2)), symbol=s)
        elif action == 1:
            ctx.buy(
                float(rng.uniform(0.1, 1.0)),
                symbol=s,
                limit=last * (1 - rng.uniform(0, 0.01)),
                valid_bars=3,
            )
        elif action == 2:
            ctx.sell(float(rng.uniform(0.1, 1.0)), symbol=s, stop=last * (1 - rng.uniform(0, 0.01)))
        elif action == 3:
            ctx.buy(
                symbol=s, stop=last * (1 + rng.uniform(0, 0.01)), stop_loss=0.01, trailing_stop=0.02
            )
        elif action == 4:
            ctx.close(symbol=s)
        else:
            ctx.sell(units=float(rng.uniform(0.1, 3.0)), symbol=s, limit=last * 1.002, valid_bars=2)


def _check_account_balances(result: Any) -> None:
    marked = result.cash + (result.positions * result.close).sum(axis=1)
    np.testing.assert_allclose(marked, result.equity, rtol=1e-9, atol=1e-9 * result.initial_cash)


def _check_no_future_price(result: Any, bars: Bars, config: EngineConfig) -> None:
    slip = 0.0 if config.slippage.kind == "none" else config.slippage.max_bps * 1e-4
    orders = result.orders
    for fill in result.fills:
        bar, s = int(fill["bar"]), int(fill["symbol"])
        low, high = bars.low[bar, s], bars.high[bar, s]
        assert low * (1 - slip) - 1e-12 <= fill["price"] <= high * (1 + slip) + 1e-12
        if fill["order_id"] >= 0:
            order = orders[fill["order_id"]]
            decided = int(order["bar"])
            if config.fill_timing == "same_close" and order["kind"] == 0:
                # A market order in same-close mode fills at its own decision bar's close.
                assert bar == decided
                assert abs(fill["price"] / bars.close[bar, s] - 1) <= slip + 1e-12
            else:
                assert bar > decided, "an order filled on or before the bar it was decided at"


@SETTINGS
@given(
    seed=st.integers(0, 10_000), n=st.integers(30, 160), symbols=st.integers(1, 2), config=configs()
)
def test_cash_plus_positions_is_equity_and_no_fill_uses_a_future_price(
    seed: int, n: int, symbols: int, config: EngineConfig
) -> None:
    bars = random_walk(n, seed, symbols)

    result = run_backtest(RandomTrader, bars, {"seed": seed}, config, style="event")

    _check_account_balances(result)
    _check_no_future_price(result, bars, config)
    assert np.isfinite(result.equity).all()


@SETTINGS
@given(
    name=st.sampled_from(
        [
            "sma_crossover",
            "ema_crossover",
            "rsi_mean_reversion",
            "bollinger_breakout",
            "donchian_breakout",
        ]
    ),
    style=st.sampled_from(["vectorised", "event_jit", "event"]),
    config=configs(),
    start=st.integers(0, 4_000),
)
def test_real_candles_balance_and_fill_honestly(
    shared_data: Path, name: str, style: str, config: EngineConfig, start: int
) -> None:
    bars = load_bars(shared_data, ETH_BTC_5M, "ETH/BTC", "5m").slice(start, start + 1_500)
    params: Mapping[str, Any] = {"direction": "both"}

    result = run_backtest(name, bars, params, config, style=style)

    _check_account_balances(result)
    _check_no_future_price(result, bars, config)


def _shuffled_after(bars: Bars, t: int, permutation: list[int]) -> Bars:
    order = np.r_[np.arange(t + 1), t + 1 + np.asarray(permutation, dtype=np.int64)]
    prices = bars.prices[:, order, :]
    return Bars.from_arrays(
        bars.timestamps, *prices, symbols=bars.symbols, timeframe=bars.timeframe
    )


def _decisions(result: Any, t: int) -> list[tuple]:
    orders = result.orders[result.orders["bar"] <= t]
    return [tuple(o[f] for f in ("bar", "symbol", "kind", "mode", "quantity")) for o in orders]


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 10_000), config=configs())
def test_shuffling_bars_after_t_never_changes_decisions_before_t(
    data: st.DataObject, seed: int, config: EngineConfig
) -> None:
    n = 160
    bars = random_walk(n, seed, 1)
    t = data.draw(st.integers(40, n - 3), label="t")
    permutation = data.draw(st.permutations(range(n - t - 1)), label="permutation")
    name = data.draw(
        st.sampled_from(
            [
                "sma_crossover",
                "rsi_mean_reversion",
                "bollinger_breakout",
                "donchian_breakout",
                "random",
            ]
        )
    )
    style = data.draw(st.sampled_from(["vectorised", "event_jit", "event"]))
    shuffled = _shuffled_after(bars, t, permutation)
    config = EngineConfig(**{**config.__dict__, "close_at_end": False})
    if name == "random":
        strategy: Any = RandomTrader
        params: dict[str, Any] = {"seed": seed}
        style = "event"
    else:
        strategy = name
        params = {"direction": "both"}
        if name == "sma_crossover":
            params.update(fast=3, slow=12)

    original = run_backtest(strategy, bars, params, config, style=style, check_lookahead=False)
    changed = run_backtest(strategy, shuffled, params, config, style=style, check_lookahead=False)

    assert _decisions(original, t) == _decisions(changed, t)
    before = original.fills[original.fills["bar"] <= t]
    after = changed.fills[changed.fills["bar"] <= t]
    np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(original.equity[: t + 1], changed.equity[: t + 1])


@SETTINGS
@given(
    seed=st.integers(0, 10_000), n=st.integers(30, 120), symbols=st.integers(1, 2), config=configs()
)
def test_lazy_account_sync_equals_eager_matching(
    seed: int, n: int, symbols: int, config: EngineConfig
) -> None:
    """The Python path skips the kernel on quiet bars; reading the account every bar must not
    change a single fill."""
    bars = random_walk(n, seed, symbols)

    lazy = run_backtest(RandomTrader, bars, {"seed": seed}, config, style="event")
    eager = run_backtest(RandomTrader, bars, {"seed": seed, "eager": 1}, config, style="event")

    for table in ("fills", "orders", "trades"):
        a, b = getattr(lazy, table), getattr(eager, table)
        for field in a.dtype.names:  # field by field: NaN prices of unfilled orders compare equal
            np.testing.assert_array_equal(a[field], b[field], err_msg=f"{table}.{field}")
    np.testing.assert_array_equal(lazy.equity, eager.equity)
