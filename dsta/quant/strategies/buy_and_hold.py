"""Buy and hold: the benchmark every strategy is compared with."""

from collections.abc import Mapping
from typing import Any

import numpy as np

from dsta.quant.bars import Bars
from dsta.quant.engine.nb_api import FloatArray, IntArray, nb_order_target, on_bar_nb
from dsta.quant.signals import Signals
from dsta.quant.strategy import Context, Strategy, register


@on_bar_nb
def _buy_and_hold_on_bar(
    i: int,
    prices: FloatArray,
    indicators: FloatArray,
    params: FloatArray,
    pos: FloatArray,
    acct: FloatArray,
    requests: FloatArray,
    n_requests: IntArray,
) -> None:
    if i == 0:
        k = pos.shape[0]
        for s in range(k):
            nb_order_target(requests, n_requests, s, 1.0 / k)


@register
class BuyAndHold(Strategy):
    """Decide at the first bar's close to hold every symbol in equal parts (1/k of a full
    position each), filled at the second bar's open; never sell."""

    name = "buy_and_hold"
    description = "Buy at the start, hold to the end (equal weights across symbols)"
    on_bar_nb = _buy_and_hold_on_bar

    def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
        target = np.full((len(bars), bars.n_symbols), np.nan)
        target[0] = 1.0 / bars.n_symbols
        return Signals(target=target)

    def on_bar(self, ctx: Context) -> None:
        if ctx.i == 0:
            for s in range(len(ctx.symbols)):
                ctx.order_target(1.0 / len(ctx.symbols), symbol=s)
