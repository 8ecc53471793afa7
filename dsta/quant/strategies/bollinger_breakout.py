"""Bollinger breakout: follow a close outside the bands until it returns to the middle."""

from collections.abc import Mapping
from typing import Any

import numpy as np

from dsta.quant.bars import Bars
from dsta.quant.engine.layout import CLOSE, POS_SIZE
from dsta.quant.engine.nb_api import FloatArray, IntArray, nb_act, on_bar_nb
from dsta.quant.indicators import bollinger
from dsta.quant.params import ChoiceParam, FloatParam, IntParam
from dsta.quant.signals import Signals, directional
from dsta.quant.strategies._rules import act
from dsta.quant.strategy import Context, Strategy, register


@on_bar_nb
def _bollinger_on_bar(
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
        middle, upper, lower = indicators[0, i, s], indicators[1, i, s], indicators[2, i, s]
        long_in = close > upper and longs
        long_out = close < middle and longs
        short_in = close < lower and shorts
        short_out = close > middle and shorts
        if long_in or long_out or short_in or short_out:
            nb_act(
                requests, n_requests, s, pos[s, POS_SIZE], long_in, long_out, short_in, short_out
            )


@register
class BollingerBreakout(Strategy):
    """Long when the close breaks above the upper band, out when it falls below the middle
    (short mirrored below the lower band). Bands: SMA(period) +/- k population std."""

    name = "bollinger_breakout"
    description = "Bollinger band breakout, exit at the middle band"
    params = {
        "period": IntParam(20, 2, 1_000, "bars in the moving average and std"),
        "k": FloatParam(2.0, 0.1, 10.0, "band width in standard deviations (ddof=0)"),
        "direction": ChoiceParam("long", ("long", "short", "both"), "long, short or both"),
    }
    on_bar_nb = _bollinger_on_bar

    def indicators(self, bars: Bars, params: Mapping[str, Any]) -> dict[str, FloatArray]:
        bands = bollinger(bars.close, params["period"], params["k"])
        return {"middle": bands.middle, "upper": bands.upper, "lower": bands.lower}

    def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
        bands = self.indicators(bars, params)
        close = bars.close
        with np.errstate(invalid="ignore"):
            return directional(
                params["direction"],
                close > bands["upper"],
                close < bands["middle"],
                close < bands["lower"],
                close > bands["middle"],
            )

    def on_start(self, ctx: Context) -> None:
        self.lines = [
            (
                ctx.series("close", s),
                ctx.series("middle", s),
                ctx.series("upper", s),
                ctx.series("lower", s),
            )
            for s in range(len(ctx.symbols))
        ]
        self.longs = ctx.params["direction"] != "short"
        self.shorts = ctx.params["direction"] != "long"

    def on_bar(self, ctx: Context) -> None:
        for s, (close, middle, upper, lower) in enumerate(self.lines):
            c = close[-1]
            long_in = c > upper[-1] and self.longs
            long_out = c < middle[-1] and self.longs
            short_in = c < lower[-1] and self.shorts
            short_out = c > middle[-1] and self.shorts
            if long_in or long_out or short_in or short_out:
                act(ctx, s, long_in, long_out, short_in, short_out)
