"""RSI mean reversion: buy when RSI is oversold, sell when it is overbought."""

from collections.abc import Mapping
from typing import Any

import numpy as np

from dsta.quant.bars import Bars
from dsta.quant.engine.layout import POS_SIZE
from dsta.quant.engine.nb_api import FloatArray, IntArray, nb_act, on_bar_nb
from dsta.quant.errors import InvalidParameters
from dsta.quant.indicators import rsi
from dsta.quant.params import ChoiceParam, FloatParam, IntParam
from dsta.quant.signals import Signals, directional
from dsta.quant.strategies._rules import act
from dsta.quant.strategy import Context, Strategy, register


@on_bar_nb
def _rsi_on_bar(
    i: int,
    prices: FloatArray,
    indicators: FloatArray,
    params: FloatArray,
    pos: FloatArray,
    acct: FloatArray,
    requests: FloatArray,
    n_requests: IntArray,
) -> None:
    lower, upper, direction = params[1], params[2], params[3]
    longs = direction != 1.0
    shorts = direction != 0.0
    for s in range(pos.shape[0]):
        value = indicators[0, i, s]
        oversold = value < lower
        overbought = value > upper
        if oversold or overbought:
            nb_act(requests, n_requests, s, pos[s, POS_SIZE], oversold and longs,
                   overbought and longs, overbought and shorts, oversold and shorts)  # fmt: skip


@register
class RsiMeanReversion(Strategy):
    """Long below ``lower`` until above ``upper`` (short mirrored), on Wilder's RSI."""

    name = "rsi_mean_reversion"
    description = "RSI(period) mean reversion between lower and upper bands"
    params = {
        "period": IntParam(14, 2, 1_000, "RSI period (Wilder smoothing)"),
        "lower": FloatParam(30.0, 1.0, 99.0, "oversold level: enter long below it"),
        "upper": FloatParam(70.0, 1.0, 99.0, "overbought level: exit long above it"),
        "direction": ChoiceParam("long", ("long", "short", "both"), "long, short or both"),
    }
    on_bar_nb = _rsi_on_bar

    def check(self, params: Mapping[str, Any]) -> None:
        if params["lower"] >= params["upper"]:
            raise InvalidParameters(
                "lower", f"must be below upper ({params['lower']} >= {params['upper']})"
            )

    def indicators(self, bars: Bars, params: Mapping[str, Any]) -> dict[str, FloatArray]:
        return {"rsi": rsi(bars.close, params["period"])}

    def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
        value = self.indicators(bars, params)["rsi"]
        with np.errstate(invalid="ignore"):
            return directional(
                params["direction"], value < params["lower"], value > params["upper"]
            )

    def on_start(self, ctx: Context) -> None:
        self.rsi = [ctx.series("rsi", s) for s in range(len(ctx.symbols))]
        self.lower, self.upper = ctx.params["lower"], ctx.params["upper"]
        self.longs = ctx.params["direction"] != "short"
        self.shorts = ctx.params["direction"] != "long"

    def on_bar(self, ctx: Context) -> None:
        for s, series in enumerate(self.rsi):
            value = series[-1]
            oversold = value < self.lower
            overbought = value > self.upper
            if oversold or overbought:
                act(ctx, s, oversold and self.longs, overbought and self.longs,
                    overbought and self.shorts, oversold and self.shorts)  # fmt: skip
