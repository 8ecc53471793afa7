"""Strategies for tests only: one that raises, one that peeks ahead, one that waits.

Registering is global, so each name is registered once (importing this module twice is
harmless: ``register`` accepts the same class again).
"""

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from dsta.quant import Bars, Signals, Strategy, register
from dsta.quant.indicators import crossed_above, crossed_below, sma
from dsta.quant.params import IntParam

# Set by a test to let WaitingStrategy go on (it waits at most WAIT_SECONDS).
RELEASE = threading.Event()
WAIT_SECONDS = 20.0


@register
class RaisingStrategy(Strategy):
    """Raises from its own code after computing an indicator: a strategy with a bug."""

    name = "tests_raising"
    params = {"period": IntParam(5, 2, 100)}

    def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
        sma(bars.close, params["period"])
        raise ZeroDivisionError("the strategy divided by zero")


@register
class PeekingStrategy(Strategy):
    """Buys before the price rises: it reads the next bar's close (lookahead)."""

    name = "tests_peeking"
    params = {"period": IntParam(5, 2, 100)}

    def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
        close = bars.close[:, 0]
        tomorrow = np.append(close[1:], close[-1])
        return Signals(entries=tomorrow > close, exits=tomorrow < close)


@register
class WaitingStrategy(Strategy):
    """An SMA crossover that first waits for ``RELEASE``: lets a test act while jobs run."""

    name = "tests_waiting"
    params = {"fast": IntParam(5, 1, 100), "slow": IntParam(20, 2, 400)}

    def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
        RELEASE.wait(WAIT_SECONDS)
        fast, slow = sma(bars.close, params["fast"]), sma(bars.close, params["slow"])
        return Signals(entries=crossed_above(fast, slow), exits=crossed_below(fast, slow))
