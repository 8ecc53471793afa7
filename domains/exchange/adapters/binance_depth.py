"""Binance's diff depth stream kept as a local book (``SequencedBook`` with Binance's rule).

The procedure of Binance's spot docs ("How to manage a local order book correctly"):

1. Open ``<symbol>@depth`` and note the ``U`` of the first event received.
2. Get a snapshot (``GET /api/v3/depth``); if its ``lastUpdateId`` is below that ``U``, get it
   again.
3. Drop events whose ``u`` is at or below the snapshot's ``lastUpdateId``.
4. Apply every later event in order. An event whose ``U`` is above the book's update id + 1
   means updates were missed: discard the book and start again from step 1 (a gap).
5. Applying: set each ``[price, quantity]`` of ``b``/``a``; quantity 0 removes the level; the
   book's update id becomes the event's ``u``.

Frames (from the docs)::

    {"e": "depthUpdate", "E": 1672515782136, "s": "BNBBTC", "U": 157, "u": 160,
     "b": [["0.0024", "10"]], "a": [["0.0026", "100"]]}

The snapshot is pulled over REST: waiting for it holds up the read loop, and events queue in
the socket meanwhile, which is the docs' "buffer the events".
"""

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from domains.exchange.adapters.sequenced_book import BookDelta, SequencedBook, sequence_number
from domains.exchange.api import OrderBook


def binance_delta(event: Mapping[str, Any]) -> BookDelta:
    """A ``depthUpdate`` event: ``U`` first and ``u`` last update id, ``b``/``a`` levels."""
    bids, asks = event.get("b") or [], event.get("a") or []
    if not isinstance(bids, list) or not isinstance(asks, list):
        raise ValueError("depthUpdate levels are not lists")
    return BookDelta(sequence_number(event, "U"), sequence_number(event, "u"), bids, asks)


class DepthBook(SequencedBook):
    """The synchronised book of one Binance symbol (see the module docstring)."""

    def __init__(
        self,
        *,
        venue: str,
        symbol: str,
        snapshot: Callable[[], Awaitable[OrderBook]],
        on_book: Callable[[OrderBook], Awaitable[None]],
        depth: int = 50,
        max_snapshot_attempts: int = 5,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(
            venue=venue,
            symbol=symbol,
            rule=binance_delta,
            snapshot=snapshot,
            on_book=on_book,
            depth=depth,
            max_snapshot_attempts=max_snapshot_attempts,
            now=now,
        )
