"""Small cases computed by hand: every price, size, fee and pnl below is worked out in the
comments, with fees included (0.1 % taker, and 0.05 % maker where it matters)."""

import numpy as np
import pytest

from dsta.quant import Bars, EngineConfig, Fees, Sizing, Slippage, Stops, run_backtest
from dsta.quant.tests.candles import make_bars
from dsta.quant.tests.scripted import event_strategy, flags, signal_strategy

OPEN = [100.0, 101.0, 104.0, 110.0, 108.0, 105.0]
CLOSE = [100.5, 103.0, 109.0, 107.0, 106.0, 104.0]
TAKER = 0.001


def test_long_round_trip_all_in_with_fees() -> None:
    bars = make_bars(OPEN, close=CLOSE)
    strategy = signal_strategy(entries=flags(6, 1), exits=flags(6, 3))

    result = run_backtest(strategy, bars, config=EngineConfig(initial_cash=10_000.0))

    # Decided at bar 1's close, bought at bar 2's open (104) with all the cash, fee included:
    units = 10_000 / (104 * 1.001)
    # Decided at bar 3's close, sold at bar 4's open (108), fee 0.1 % of the proceeds:
    final_cash = units * 108 * 0.999
    np.testing.assert_allclose(
        result.equity,
        [10_000, 10_000, units * 109, units * 107, final_cash, final_cash],
        rtol=1e-13,
    )
    np.testing.assert_allclose(result.positions[:, 0], [0, 0, units, units, 0, 0], rtol=1e-13)
    assert list(result.fills["bar"]) == [2, 4]
    assert list(result.fills["price"]) == [104.0, 108.0]
    np.testing.assert_allclose(result.fills["fee"], [units * 104 * TAKER, units * 108 * TAKER])
    (trade,) = result.trades_records()
    assert (trade["entry_bar"], trade["exit_bar"], trade["direction"]) == (2, 4, 1)
    assert trade["entry_price"] == 104.0
    assert trade["exit_price"] == 108.0
    fees = units * (104 + 108) * TAKER
    assert trade["fees"] == pytest.approx(fees, rel=1e-12)
    assert trade["pnl"] == pytest.approx(units * (108 - 104) - fees, rel=1e-12)
    assert trade["pnl"] == pytest.approx(final_cash - 10_000, rel=1e-12)
    assert trade["exit_reason"] == "order"
    assert result.manifest["fill_timing"] == "next_open"
    assert result.manifest["same_bar_close"] is False


def test_same_bar_close_fills_at_the_signal_close_and_says_so() -> None:
    bars = make_bars(OPEN, close=CLOSE)
    strategy = signal_strategy(entries=flags(6, 1), exits=flags(6, 3))

    result = run_backtest(strategy, bars, config=EngineConfig(fill_timing="same_close"))

    units = 10_000 / (103 * 1.001)
    assert list(result.fills["bar"]) == [1, 3]
    assert list(result.fills["price"]) == [103.0, 107.0]
    assert result.equity[-1] == pytest.approx(units * 107 * 0.999, rel=1e-13)
    assert result.manifest["same_bar_close"] is True
    assert result.manifest["config"]["fill_timing"] == "same_close"


def test_fixed_size_short_round_trip() -> None:
    bars = make_bars(OPEN, close=CLOSE)
    strategy = signal_strategy(short_entries=flags(6, 1), short_exits=flags(6, 3))
    config = EngineConfig(sizing=Sizing("fixed", 10.0))

    result = run_backtest(strategy, bars, config=config)

    # Sell 10 at 104: cash 10,000 + 1,040 - 1.04; buy back 10 at 108: - 1,080 - 1.08.
    assert list(result.fills["size"]) == [-10.0, 10.0]
    assert result.cash[2] == pytest.approx(11_038.96)
    assert result.equity[2] == pytest.approx(11_038.96 - 10 * 109)  # short marked at the close
    assert result.equity[-1] == pytest.approx(10_000 - 40 - 2.12)
    (trade,) = result.trades_records()
    assert trade["direction"] == -1
    assert trade["pnl"] == pytest.approx(-42.12)


def _flat_bars(
    low: list[float], high: list[float] | None = None, open_: list[float] | None = None
) -> Bars:
    n = len(low)
    o = open_ or [100.0] * n
    return make_bars(o, high=high or [max(101.0, x) for x in o], low=low, close=[100.0] * n)


def test_stop_loss_fills_at_its_level_or_at_a_gapped_open() -> None:
    entry_at_bar_0 = signal_strategy(entries=flags(5, 0))
    config = EngineConfig(stops=Stops(stop_loss=0.05))

    # Bought at bar 1's open (100); stop 95; bar 3 trades down to 94: out at 95, taker fee.
    result = run_backtest(entry_at_bar_0, _flat_bars([99, 99, 99, 94, 99]), config=config)
    exit_fill = result.fills_records()[-1]
    assert (exit_fill["bar"], exit_fill["price"], exit_fill["reason"]) == (3, 95.0, "stop_loss")
    assert exit_fill["liquidity"] == "taker"
    units = 10_000 / (100 * 1.001)
    assert result.equity[-1] == pytest.approx(units * 95 * 0.999, rel=1e-13)

    # Bar 3 opens at 90, below the stop: out at the open, the worse price.
    gapped = _flat_bars([99, 99, 99, 89, 99], open_=[100, 100, 100, 90, 100])
    result = run_backtest(entry_at_bar_0, gapped, config=config)
    assert result.fills_records()[-1]["price"] == 90.0


def test_take_profit_is_a_maker_fill_at_its_level() -> None:
    config = EngineConfig(fees=Fees(maker=0.0005, taker=0.001), stops=Stops(take_profit=0.03))
    bars = _flat_bars([99, 99, 99, 99, 99], high=[101, 101, 104, 101, 101])

    result = run_backtest(signal_strategy(entries=flags(5, 0)), bars, config=config)

    units = 10_000 / (100 * 1.001)
    exit_fill = result.fills_records()[-1]
    assert (exit_fill["bar"], exit_fill["price"], exit_fill["reason"]) == (2, 103.0, "take_profit")
    assert exit_fill["liquidity"] == "maker"
    assert exit_fill["fee"] == pytest.approx(units * 103 * 0.0005)


def test_trailing_stop_follows_the_best_high_of_earlier_bars() -> None:
    # Entry at bar 1's open (100). Bar 1: level 98, low 99 holds; its high 105 raises the
    # best price after the check. Bar 2: level 105 * 0.98 = 102.9; low 102 reaches it.
    bars = _flat_bars(
        [99, 99, 102, 99, 99], high=[101, 105, 104, 101, 101], open_=[100, 100, 104, 100, 100]
    )

    result = run_backtest(
        signal_strategy(entries=flags(5, 0)), bars, config=EngineConfig(stops=Stops(trailing=0.02))
    )

    exit_fill = result.fills_records()[-1]
    assert (exit_fill["bar"], exit_fill["reason"]) == (2, "trailing_stop")
    assert exit_fill["price"] == pytest.approx(102.9)


def test_both_stops_in_one_bar_take_the_stop_loss() -> None:
    bars = _flat_bars([99, 99, 90, 99, 99], high=[101, 101, 110, 101, 101])
    config = EngineConfig(stops=Stops(stop_loss=0.05, take_profit=0.05))

    result = run_backtest(signal_strategy(entries=flags(5, 0)), bars, config=config)

    assert result.fills_records()[-1]["reason"] == "stop_loss"


def test_limit_and_stop_orders_from_on_bar() -> None:
    bars = make_bars(
        [100, 100, 100, 97, 100, 100, 100],
        high=[101, 101, 101, 101, 101, 103, 101],
        low=[99, 99, 97.5, 96, 99, 99, 99],
        close=[100] * 7,
    )
    config = EngineConfig(fees=Fees(maker=0.0005, taker=0.001), sizing=Sizing("fixed", 1.0))
    ids: dict[str, int] = {}
    strategy = event_strategy(
        {
            # Limit buy 98 placed at bar 0's close: bar 1 (low 99) misses,
            # bar 2 (low 97.5) fills at 98.
            0: lambda ctx: ids.setdefault("limit", ctx.buy(limit=98.0, valid_bars=3)),
            # Limit buy 98 again: bar 3 opens at 97, below it: filled at the open, 97.
            2: lambda ctx: ids.setdefault("gap", ctx.buy(limit=98.0)),
            # A limit that is never reached, valid one bar: expires.
            3: lambda ctx: ids.setdefault("expired", ctx.buy(limit=90.0, valid_bars=1)),
            # Stop buy 1 at 102: bar 5's high 103 reaches it, filled at 102.
            4: lambda ctx: ids.setdefault("stop", ctx.buy(stop=102.0)),
        }
    )

    result = run_backtest(strategy, bars, config=config)

    orders = {o["order_id"]: o for o in result.orders_records()}
    fills = {f["order_id"]: f for f in result.fills_records()}
    assert (fills[ids["limit"]]["bar"], fills[ids["limit"]]["price"]) == (2, 98.0)
    assert fills[ids["limit"]]["liquidity"] == "maker"
    assert (fills[ids["gap"]]["bar"], fills[ids["gap"]]["price"]) == (3, 97.0)
    assert orders[ids["expired"]]["status"] == "expired"
    assert (fills[ids["stop"]]["bar"], fills[ids["stop"]]["price"]) == (5, 102.0)
    assert fills[ids["stop"]]["liquidity"] == "taker"
    # Three units bought: 98 and 97 at 0.05 %, 102 at 0.1 %.
    fees = 98 * 0.0005 + 97 * 0.0005 + 102 * 0.001
    assert result.fees_paid == pytest.approx(fees)
    assert result.equity[-1] == pytest.approx(10_000 - (98 + 97 + 102) - fees + 3 * 100)


def test_fixed_and_volume_slippage() -> None:
    bars = make_bars(OPEN, close=CLOSE, volume=[1_000.0] * 6)
    strategy = signal_strategy(entries=flags(6, 1), exits=flags(6, 3))

    fixed = run_backtest(
        strategy,
        bars,
        config=EngineConfig(sizing=Sizing("fixed", 10.0), slippage=Slippage("fixed", bps=10)),
    )
    assert list(fixed.fills["price"]) == pytest.approx([104 * 1.001, 108 * 0.999])

    # sqrt(10 / 1000) = 0.1 of 100 bps = 10 bps, plus 5 bps base.
    volume = run_backtest(
        strategy,
        bars,
        config=EngineConfig(
            sizing=Sizing("fixed", 10.0), slippage=Slippage("volume", bps=5, impact_bps=100)
        ),
    )
    assert list(volume.fills["price"]) == pytest.approx([104 * 1.0015, 108 * 0.9985])


def test_orders_beyond_the_leverage_limit_are_cut_down() -> None:
    bars = make_bars(OPEN, close=CLOSE)
    strategy = event_strategy({1: lambda ctx: ctx.order_target(2.0)})

    result = run_backtest(strategy, bars)

    assert result.fills["size"][0] == pytest.approx(10_000 / (104 * 1.001))
    assert result.cash[2] == pytest.approx(0.0, abs=1e-9)
    assert result.manifest["orders_reduced_by_leverage"] == 1


def test_two_symbols_share_one_cash_account() -> None:
    stamps = np.arange(4, dtype=np.int64) * 60_000
    a = np.array([100.0, 102.0, 104.0, 103.0])
    b = np.array([10.0, 11.0, 9.0, 12.0])
    prices = np.column_stack([a, b])
    bars = Bars.from_arrays(
        stamps, prices, prices, prices, prices, symbols=("A", "B"), timeframe="1m"
    )

    result = run_backtest("buy_and_hold", bars)

    # Half the equity each, at bar 1's open; A first: u_a * 102 = 0.5 * (10,000 - fee_a).
    u_a = 0.5 * 10_000 / (102 * (1 + 0.5 * TAKER))
    cash = 10_000 - u_a * 102 * (1 + TAKER)
    # B asks for half of the equity left, but A's fee means that half plus A's exposure would
    # exceed 1x equity after B's fee: B is cut to what the cash buys, fee included.
    u_b = cash / (11 * (1 + TAKER))
    np.testing.assert_allclose(result.positions[-1], [u_a, u_b], rtol=1e-12)
    assert abs(result.cash[-1]) < 1e-9
    assert result.equity[-1] == pytest.approx(u_a * 103 + u_b * 12, rel=1e-12)
    assert result.manifest["orders_reduced_by_leverage"] == 1
    assert u_a * 102 == pytest.approx(u_b * 11, rel=2e-3)


def test_close_at_end_liquidates_and_leaves_only_closed_trades() -> None:
    bars = make_bars(OPEN, close=CLOSE)

    open_end = run_backtest("buy_and_hold", bars)
    closed_end = run_backtest("buy_and_hold", bars, config=EngineConfig(close_at_end=True))

    assert bool(open_end.trades["is_open"][0]) is True
    units = 10_000 / (101 * 1.001)
    assert open_end.trades_records()[0]["pnl"] == pytest.approx(
        units * (104 - 101) - units * 101 * TAKER
    )
    assert not closed_end.trades["is_open"].any()
    assert closed_end.trades_records()[0]["exit_reason"] == "end"
    assert closed_end.equity[-1] == pytest.approx(units * 104 * 0.999)


def test_vectorised_limit_entries_are_valid_for_the_next_bar_only() -> None:
    bars = make_bars(
        [100, 100, 100, 100, 100, 100],
        high=[101] * 6,
        low=[99.5, 99.5, 98.5, 99.5, 97.0, 99.5],
        close=[100] * 6,
    )
    nan = float("nan")
    # Limit 99 decided at bar 0: bar 1's low 99.5 misses, and the order is gone after bar 1.
    # Limit 99 decided at bar 3: bar 4's low 97 reaches it: filled at 99, maker fee.
    strategy = signal_strategy(
        entries=flags(6, 0, 3), price=[99.0, nan, nan, 99.0, nan, nan], order_kind="limit"
    )
    config = EngineConfig(fees=Fees(maker=0.0002, taker=0.001))

    result = run_backtest(strategy, bars, config=config)

    statuses = [o["status"] for o in result.orders_records()]
    assert statuses == ["expired", "filled"]
    (fill,) = result.fills_records()
    assert (fill["bar"], fill["price"], fill["liquidity"]) == (4, 99.0, "maker")
    assert fill["size"] == pytest.approx(10_000 / (99 * 1.0002))
