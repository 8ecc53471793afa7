"""Registry, styles, and bad input: unknown names, bad parameters, strategies that raise or
peek ahead."""

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from dsta.quant import (
    Bars,
    Context,
    InvalidConfig,
    InvalidParameters,
    LookaheadError,
    QuantError,
    Signals,
    Strategy,
    StrategyFailed,
    UnknownStrategy,
    get_strategy,
    latest_decision,
    lookahead_check,
    register,
    run_backtest,
    strategy_names,
)
from dsta.quant.indicators import crossed_above, sma
from dsta.quant.tests.candles import CLASSIC_STRATEGIES, random_walk


def test_the_classic_strategies_are_registered_with_every_style() -> None:
    # Other suites register test-only strategies in the same process: check ours are there.
    assert set(CLASSIC_STRATEGIES) <= set(strategy_names())
    for name in CLASSIC_STRATEGIES:
        assert get_strategy(name).styles() == ("vectorised", "event_jit", "event")
    description = get_strategy("sma_crossover").describe()
    assert description["params"]["fast"] == {
        "type": "IntParam",
        "default": 10,
        "low": 1,
        "high": 1_000,
        "doc": "bars in the fast average",
    }


def test_unknown_strategy_lists_the_known_ones() -> None:
    with pytest.raises(UnknownStrategy) as caught:
        run_backtest("sma_cross", random_walk(50, 1))

    assert "sma_crossover" in str(caught.value)
    assert caught.value.code == "unknown_strategy"


def test_bad_parameters_fail_before_running() -> None:
    with pytest.raises(InvalidParameters) as caught:
        run_backtest("rsi_mean_reversion", random_walk(50, 1), {"period": "14"})
    assert caught.value.name == "period"
    with pytest.raises(InvalidParameters, match="out of range"):
        run_backtest("bollinger_breakout", random_walk(50, 1), {"k": 50.0})


def test_a_style_the_strategy_lacks_is_refused() -> None:
    class OnlySignals(Strategy):
        name = "only_signals"

        def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
            return Signals(target=np.full(len(bars), np.nan))

    with pytest.raises(InvalidConfig, match="does not implement the event style"):
        run_backtest(OnlySignals, random_walk(20, 1), style="event")
    with pytest.raises(InvalidConfig, match="style must be one of"):
        run_backtest(OnlySignals, random_walk(20, 1), style="fast")


def test_a_strategy_that_raises_is_reported_with_its_bar() -> None:
    class Broken(Strategy):
        name = "broken"

        def on_bar(self, ctx: Context) -> None:
            if ctx.i == 7:
                raise ZeroDivisionError("oops")

    with pytest.raises(StrategyFailed) as caught:
        run_backtest(Broken, random_walk(20, 1))

    assert caught.value.bar == 7
    assert "ZeroDivisionError: oops" in str(caught.value)
    assert caught.value.details["error_type"] == "ZeroDivisionError"


def test_signals_that_raise_are_reported_too() -> None:
    class BrokenSignals(Strategy):
        name = "broken_signals"

        def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
            raise KeyError("close")

    with pytest.raises(StrategyFailed, match="KeyError"):
        run_backtest(BrokenSignals, random_walk(20, 1))


class PeekingSignals(Strategy):
    """Sizes each bar's position by the next bar's return: uses close[t + 1]."""

    name = "peeking_signals"

    def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
        close = bars.close
        future = np.vstack([close[1:], close[-1:]])
        return Signals(target=np.clip((future / close - 1) * 100, -1, 1))


class PeekingIndicator(Strategy):
    """A centred moving average: half its window lies in the future."""

    name = "peeking_indicator"

    def indicators(self, bars: Bars, params: Mapping[str, Any]) -> dict[str, np.ndarray]:
        return {"centred": np.roll(sma(bars.close, 11), -5)}

    def on_bar(self, ctx: Context) -> None:
        pass


def test_lookahead_in_signals_or_indicators_is_refused() -> None:
    bars = random_walk(200, 3)

    with pytest.raises(LookaheadError) as caught:
        run_backtest(PeekingSignals, bars)
    assert caught.value.details["bar"] == 99  # the last bar before the cut at 100
    with pytest.raises(LookaheadError, match="'centred'"):
        run_backtest(PeekingIndicator, bars)


class PeekingOnSparseSignals(Strategy):
    """Entries from a crossing one bar early: sparse booleans slip past a one-cut check."""

    name = "peeking_sparse"

    def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
        close = bars.close[:, 0]
        up = crossed_above(sma(close, 3), sma(close, 10))
        early = np.r_[up[1:], False]
        down = np.r_[crossed_above(sma(close, 10), sma(close, 3))[1:], False]
        return Signals(entries=early, exits=down)


def test_thorough_lookahead_check_compares_decisions_at_many_cuts() -> None:
    bars = random_walk(400, 5)

    assert lookahead_check("sma_crossover", bars, {"fast": 3, "slow": 10}, cuts=8).passed
    report = lookahead_check(PeekingOnSparseSignals, bars, cuts=list(range(50, 400, 7)))

    assert not report.passed
    assert report.cut is not None
    assert report.bar is not None
    assert report.bar < report.cut
    assert report.what


def test_context_misuse_is_a_clear_error() -> None:
    class LateSeries(Strategy):
        name = "late_series"

        def on_bar(self, ctx: Context) -> None:
            ctx.series("close")

    class StopLimit(Strategy):
        name = "stop_limit"

        def on_bar(self, ctx: Context) -> None:
            ctx.buy(limit=1.0, stop=2.0)

    with pytest.raises(QuantError, match="on_start"):
        run_backtest(LateSeries, random_walk(20, 1))
    with pytest.raises(QuantError, match="not both"):
        run_backtest(StopLimit, random_walk(20, 1))


def test_registering_requires_a_name_and_a_style() -> None:
    class Nameless(Strategy):
        def on_bar(self, ctx: Context) -> None:
            pass

    class NoStyle(Strategy):
        name = "no_style"

    with pytest.raises(ValueError, match="no name"):
        register(Nameless)
    with pytest.raises(ValueError, match="neither"):
        register(NoStyle)
    with pytest.raises(ValueError, match="taken"):
        register(type("Impostor", (get_strategy("sma_crossover"),), {}))


def test_latest_decision_for_a_live_runner() -> None:
    bars = random_walk(300, 11)
    strategy = get_strategy("sma_crossover")
    entries = (
        strategy()
        .signals(bars, strategy().validate({"fast": 3, "slow": 10}))
        .encode(300, 1)["entry"]
    )
    last_entry = int(np.flatnonzero(entries[:, 0] > 0)[-1])

    decision = latest_decision(
        "sma_crossover", bars.slice(0, last_entry + 1), {"fast": 3, "slow": 10}
    )

    assert decision["entry"][0] == 1.0
