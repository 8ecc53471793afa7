"""Moving-average crossover (SMA or EMA): long when the fast average crosses above the slow."""

from collections.abc import Callable, Mapping
from typing import Any

from numpy.typing import ArrayLike

from dsta.quant.bars import Bars
from dsta.quant.engine.layout import POS_SIZE
from dsta.quant.engine.nb_api import FloatArray, IntArray, nb_act, on_bar_nb
from dsta.quant.errors import InvalidParameters
from dsta.quant.indicators import crossed_above, crossed_below, ema, sma
from dsta.quant.params import ChoiceParam, IntParam
from dsta.quant.signals import Signals, directional
from dsta.quant.strategies._rules import act
from dsta.quant.strategy import Context, Strategy, register

DIRECTIONS = ("long", "short", "both")


@on_bar_nb
def _crossover_on_bar(
    i: int,
    prices: FloatArray,
    indicators: FloatArray,
    params: FloatArray,
    pos: FloatArray,
    acct: FloatArray,
    requests: FloatArray,
    n_requests: IntArray,
) -> None:
    if i < 1:
        return
    direction = params[2]
    for s in range(pos.shape[0]):
        fast, slow = indicators[0, i, s], indicators[1, i, s]
        fast_before, slow_before = indicators[0, i - 1, s], indicators[1, i - 1, s]
        up = fast > slow and fast_before <= slow_before
        down = fast < slow and fast_before >= slow_before
        if not (up or down):
            continue
        longs = direction != 1.0
        shorts = direction != 0.0
        nb_act(requests, n_requests, s, pos[s, POS_SIZE], up and longs, down and longs,
               down and shorts, up and shorts)  # fmt: skip


class _Crossover(Strategy):
    params = {
        "fast": IntParam(10, 1, 1_000, "bars in the fast average"),
        "slow": IntParam(50, 2, 10_000, "bars in the slow average"),
        "direction": ChoiceParam("long", DIRECTIONS, "long, short or both (always in)"),
    }
    on_bar_nb = _crossover_on_bar

    # The moving average, set by each subclass (sma or ema).
    average: Callable[[ArrayLike, int], FloatArray]

    def check(self, params: Mapping[str, Any]) -> None:
        if params["fast"] >= params["slow"]:
            raise InvalidParameters(
                "fast", f"must be smaller than slow ({params['fast']} >= {params['slow']})"
            )

    def indicators(self, bars: Bars, params: Mapping[str, Any]) -> dict[str, FloatArray]:
        return {
            "fast": self.average(bars.close, params["fast"]),
            "slow": self.average(bars.close, params["slow"]),
        }

    def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
        lines = self.indicators(bars, params)
        up = crossed_above(lines["fast"], lines["slow"])
        down = crossed_below(lines["fast"], lines["slow"])
        return directional(params["direction"], up, down)

    def on_start(self, ctx: Context) -> None:
        self.lines = [
            (ctx.series("fast", s), ctx.series("slow", s)) for s in range(len(ctx.symbols))
        ]
        direction = ctx.params["direction"]
        self.longs = direction != "short"
        self.shorts = direction != "long"
        if len(self.lines) == 1:
            # One symbol: a loop-free on_bar (the runner picks up the instance attribute).
            self.fast, self.slow = self.lines[0]
            self.on_bar = self._on_bar_one  # type: ignore[method-assign]

    def on_bar(self, ctx: Context) -> None:
        if ctx.i < 1:
            return
        for s, (fast, slow) in enumerate(self.lines):
            f, f1, w, w1 = fast[-1], fast[-2], slow[-1], slow[-2]
            up = f > w and f1 <= w1
            down = f < w and f1 >= w1
            if up or down:
                act(
                    ctx,
                    s,
                    up and self.longs,
                    down and self.longs,
                    down and self.shorts,
                    up and self.shorts,
                )

    def _on_bar_one(self, ctx: Context) -> None:
        if ctx.i < 1:
            return
        fast, slow = self.fast, self.slow
        f, w = fast[-1], slow[-1]
        if f > w:
            if fast[-2] <= slow[-2]:
                act(ctx, 0, self.longs, False, False, self.shorts)
        elif f < w and fast[-2] >= slow[-2]:
            act(ctx, 0, False, self.longs, self.shorts, False)


@register
class SmaCrossover(_Crossover):
    """Enter long when SMA(fast) crosses above SMA(slow), exit when it crosses below."""

    name = "sma_crossover"
    description = "SMA(fast) / SMA(slow) crossover"
    average = staticmethod(sma)


@register
class EmaCrossover(_Crossover):
    """Enter long when EMA(fast) crosses above EMA(slow), exit when it crosses below."""

    name = "ema_crossover"
    description = "EMA(fast) / EMA(slow) crossover (TA-Lib seeding)"
    average = staticmethod(ema)
