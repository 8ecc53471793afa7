"""The classic strategies users test first; importing this package registers them."""

from dsta.quant.strategies.crossover import EmaCrossover, SmaCrossover

__all__ = ["EmaCrossover", "SmaCrossover"]
