"""The paper engine's order book: an L2 snapshot that our simulated fills consume.

A fill takes liquidity off the level it executed against, so two orders sent against the same
snapshot cannot both take the same size; the next snapshot from the market replaces the book.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domains.exchange.api import BookLevel, OrderBook, OrderSide


@dataclass
class Level:
    price: Decimal
    amount: Decimal


@dataclass
class PaperBook:
    """A mutable L2 book: bids best (highest) first, asks best (lowest) first."""

    symbol: str
    timestamp: datetime
    bids: list[Level] = field(default_factory=list)
    asks: list[Level] = field(default_factory=list)
    sequence: int | None = None

    @classmethod
    def from_snapshot(cls, book: OrderBook) -> "PaperBook":
        """A working copy of ``book``, sorted and without empty levels."""
        bids = sorted(
            (Level(lv.price, lv.amount) for lv in book.bids if lv.amount > 0),
            key=lambda lv: lv.price,
            reverse=True,
        )
        asks = sorted(
            (Level(lv.price, lv.amount) for lv in book.asks if lv.amount > 0),
            key=lambda lv: lv.price,
        )
        return cls(book.symbol, book.timestamp, bids, asks, book.sequence)

    def snapshot(self, venue: str) -> OrderBook:
        """The book as the immutable DTO of the api."""
        return OrderBook(
            venue=venue,
            symbol=self.symbol,
            timestamp=self.timestamp,
            bids=tuple(BookLevel(lv.price, lv.amount) for lv in self.bids),
            asks=tuple(BookLevel(lv.price, lv.amount) for lv in self.asks),
            sequence=self.sequence,
        )

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        """Mid price; one side's best price when the other side is empty."""
        if self.bids and self.asks:
            return (self.bids[0].price + self.asks[0].price) / 2
        return self.best_bid or self.best_ask

    def opposite(self, side: OrderSide) -> list[Level]:
        """The levels an order of ``side`` takes from: asks for a buy, bids for a sell."""
        return self.asks if side is OrderSide.BUY else self.bids

    def consume(self, levels: list[Level], amount: Decimal) -> None:
        """Take ``amount`` off the best level of ``levels`` (dropping it once empty)."""
        best = levels[0]
        best.amount -= amount
        if best.amount <= 0:
            levels.pop(0)
