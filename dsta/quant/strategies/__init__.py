"""The classic strategies users test first; importing this package registers them."""

from dsta.quant.strategies.bollinger_breakout import BollingerBreakout
from dsta.quant.strategies.buy_and_hold import BuyAndHold
from dsta.quant.strategies.crossover import EmaCrossover, SmaCrossover
from dsta.quant.strategies.donchian_breakout import DonchianBreakout
from dsta.quant.strategies.rsi_reversion import RsiMeanReversion

__all__ = [
    "BollingerBreakout",
    "BuyAndHold",
    "DonchianBreakout",
    "EmaCrossover",
    "RsiMeanReversion",
    "SmaCrossover",
]
