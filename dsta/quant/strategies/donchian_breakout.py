"""Donchian channel breakout (the turtle rule): enter on an N-bar high, exit on an M-bar low."""

from collections.abc import Mapping
from typing import Any

import numpy as np

from dsta.quant.bars import Bars
from dsta.quant.engine.layout import CLOSE, POS_SIZE
from dsta.quant.engine.nb_api import FloatArray, IntArray, nb_act, on_bar_nb
from dsta.quant.indicators import rolling_max, rolling_min, shift
from dsta.quant.params import ChoiceParam, IntParam
from dsta.quant.signals import Signals, directional
from dsta.quant.strategies._rules import act
from dsta.quant.strategy import Context, Strategy, register


@on_bar_nb
def _donchian_on_bar(
    i: int,
    prices: FloatArray,
    indicators: FloatArray,
    params: FloatArray,
    pos: FloatArray,
    acct: FloatArray,
    requests: FloatArray,
    n_requests: IntArray,
) -> None:
    direction = params[2]
    longs = direction != 1.0
    shorts = direction != 0.0
    for s in range(pos.shape[0]):
        close = prices[CLOSE, i, s]
        long_in = close > indicators[0, i, s] and longs
        long_out = close < indicators[2, i, s] and longs
        short_in = close < indicators[1, i, s] and shorts
        short_out = close > indicators[3, i, s] and shorts
        if long_in or long_out or short_in or short_out:
            nb_act(
                requests, n_requests, s, pos[s, POS_SIZE], long_in, long_out, short_in, short_out
            )


@register
class DonchianBreakout(Strategy):
    """Long when the close exceeds the highest high of the previous ``entry`` bars, out when it
    falls below the lowest low of the previous ``exit`` bars (short mirrored). Turtle System 1
    is entry=20, exit=10; add ATR stops or volatility sizing through the engine config."""

    name = "donchian_breakout"
    description = "Donchian / turtle channel breakout"
    params = {
        "entry": IntParam(20, 2, 1_000, "breakout channel: previous N bars"),
        "exit": IntParam(10, 1, 1_000, "exit channel: previous M bars"),
        "direction": ChoiceParam("long", ("long", "short", "both"), "long, short or both"),
    }
    on_bar_nb = _donchian_on_bar

    def indicators(self, bars: Bars, params: Mapping[str, Any]) -> dict[str, FloatArray]:
        # Channels of the *previous* bars: today's own high cannot be exceeded by today's close.
        return {
            "entry_high": shift(rolling_max(bars.high, params["entry"]), 1),
            "entry_low": shift(rolling_min(bars.low, params["entry"]), 1),
            "exit_low": shift(rolling_min(bars.low, params["exit"]), 1),
            "exit_high": shift(rolling_max(bars.high, params["exit"]), 1),
        }

    def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
        channel = self.indicators(bars, params)
        close = bars.close
        with np.errstate(invalid="ignore"):
            return directional(
                params["direction"],
                close > channel["entry_high"],
                close < channel["exit_low"],
                close < channel["entry_low"],
                close > channel["exit_high"],
            )

    def on_start(self, ctx: Context) -> None:
        names = ("close", "entry_high", "entry_low", "exit_low", "exit_high")
        self.lines = [tuple(ctx.series(name, s) for name in names) for s in range(len(ctx.symbols))]
        self.longs = ctx.params["direction"] != "short"
        self.shorts = ctx.params["direction"] != "long"

    def on_bar(self, ctx: Context) -> None:
        for s, (close, entry_high, entry_low, exit_low, exit_high) in enumerate(self.lines):
            c = close[-1]
            long_in = c > entry_high[-1] and self.longs
            long_out = c < exit_low[-1] and self.longs
            short_in = c < entry_low[-1] and self.shorts
            short_out = c > exit_high[-1] and self.shorts
            if long_in or long_out or short_in or short_out:
                act(ctx, s, long_in, long_out, short_in, short_out)
