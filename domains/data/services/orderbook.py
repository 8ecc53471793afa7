"""Order-book snapshots: read from the exchange's door, announced as ``OrderBookSnapshot``.

Snapshots are not stored (the store of order books is left for later); every read publishes
the transient event so live consumers see the book the API just served.
"""

from domains.data.events import OrderBookSnapshot
from domains.exchange.api import OrderBook, exchange_api
from dsta.kernel.bus import publish
from dsta.kernel.errors import InvalidInput

MAX_DEPTH = 5000


def order_book_snapshot(*, venue: str, symbol: str, depth: int | None = None) -> OrderBook:
    """The venue's current L2 book of ``symbol`` (``depth`` levels a side when given)."""
    if depth is not None and not 1 <= depth <= MAX_DEPTH:
        raise InvalidInput(
            f"depth must be between 1 and {MAX_DEPTH}", details={"depth": depth, "max": MAX_DEPTH}
        )
    book = exchange_api().order_book(venue=venue, symbol=symbol, depth=depth)
    publish(
        OrderBookSnapshot(
            venue=book.venue,
            symbol=book.symbol,
            timestamp=book.timestamp,
            bids=[(level.price, level.amount) for level in book.bids],
            asks=[(level.price, level.amount) for level in book.asks],
            sequence=book.sequence,
        )
    )
    return book
