"""Strategies whose decisions are fixed in advance, for hand-checked cases."""

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from dsta.quant import Bars, Context, Signals, Strategy


def signal_strategy(**arrays: Any) -> type[Strategy]:
    """A vectorised strategy returning these signal arrays (cut to the bars it is given)."""

    class Preset(Strategy):
        name = "preset_signals"

        def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
            cut: dict[str, Any] = {
                key: np.asarray(value)[: len(bars)]
                if isinstance(value, list | np.ndarray)
                else value
                for key, value in arrays.items()
            }
            return Signals(**cut)

    return Preset


def event_strategy(actions: dict[int, Callable[[Context], Any]]) -> type[Strategy]:
    """An event strategy running ``actions[i](ctx)`` at the close of bar i."""

    class Scripted(Strategy):
        name = "scripted"

        def on_bar(self, ctx: Context) -> None:
            action = actions.get(ctx.i)
            if action is not None:
                action(ctx)

    return Scripted


def flags(n: int, *bars: int) -> list[bool]:
    """A boolean signal list of length n, true at ``bars``."""
    return [i in bars for i in range(n)]
