"""A documented order-book model built from one candle, for markets with no recorded book.

The model (see docs/domains/exchange.md, "Synthetic book"):

* mid = the candle's close;
* best bid/ask sit ``spread_bps / 2`` below/above mid; level ``i`` (0 = best) is a further
  ``i * level_step_bps`` away; bid prices are floored and ask prices ceiled to the tick, so the
  model never quotes a better price than it states;
* level ``i`` holds ``volume * top_fraction * decay**i`` of the base currency (the candle's
  volume scales the depth: a quiet bar gives a thin book), truncated to the lot size; levels that
  land on the same tick are merged, empty ones dropped.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domains.exchange.api import BookLevel, Candle, InvalidOrder, MarketInfo, OrderBook
from domains.exchange.services.precision import price_ceiling, price_floor, round_amount

BPS = Decimal(10_000)


@dataclass(frozen=True)
class SyntheticBookModel:
    """Parameters of the candle → book model (defaults: a liquid spot market)."""

    spread_bps: Decimal = Decimal(10)
    level_step_bps: Decimal = Decimal(5)
    levels: int = 20
    top_fraction: Decimal = Decimal("0.01")
    decay: Decimal = Decimal("0.8")

    def __post_init__(self) -> None:
        if self.spread_bps <= 0 or self.level_step_bps <= 0:
            raise InvalidOrder("spread_bps and level_step_bps must be positive")
        if self.levels < 1 or not (0 < self.decay <= 1) or self.top_fraction <= 0:
            raise InvalidOrder("levels >= 1, 0 < decay <= 1 and top_fraction > 0 are required")


def book_from_candle(
    market: MarketInfo, candle: Candle, model: SyntheticBookModel, *, at: datetime
) -> OrderBook:
    """The model's book for ``market`` around ``candle``'s close, stamped ``at``."""
    mid = Decimal(str(candle.close))
    top_amount = Decimal(str(candle.volume)) * model.top_fraction
    bids: list[BookLevel] = []
    asks: list[BookLevel] = []
    for i in range(model.levels):
        offset = (model.spread_bps / 2 + i * model.level_step_bps) / BPS
        amount = round_amount(market, top_amount * model.decay**i)
        if amount <= 0:
            break  # sizes only decay from here
        bid = price_floor(market, mid * (1 - offset))
        if bid > 0:
            _add_level(bids, bid, amount)
        _add_level(asks, price_ceiling(market, mid * (1 + offset)), amount)
    return OrderBook(
        venue=market.venue,
        symbol=market.symbol,
        timestamp=at,
        bids=tuple(bids),
        asks=tuple(asks),
    )


def _add_level(levels: list[BookLevel], price: Decimal, amount: Decimal) -> None:
    # A coarse tick can put two model levels on one price: merge them.
    if levels and levels[-1].price == price:
        levels[-1] = BookLevel(price, levels[-1].amount + amount)
    else:
        levels.append(BookLevel(price, amount))
