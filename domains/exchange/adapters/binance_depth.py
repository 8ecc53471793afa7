"""A local Binance order book kept in sync from the diff depth stream and REST snapshots.

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

A reconnect loses events, so the stream calls :meth:`DepthBook.reset` on each new connection.
Waiting for the snapshot holds up the read loop; events queue in the socket meanwhile, which is
the docs' "buffer the events".
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domains.exchange.api import BookLevel, ExchangeFailure, OrderBook

logger = logging.getLogger(__name__)

Snapshot = Callable[[], Awaitable[OrderBook]]


class DepthBook:
    """The synchronised book of one symbol (see the module docstring)."""

    def __init__(
        self,
        *,
        venue: str,
        symbol: str,
        snapshot: Snapshot,
        on_book: Callable[[OrderBook], Awaitable[None]],
        depth: int = 50,
        max_snapshot_attempts: int = 5,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.venue = venue
        self.symbol = symbol
        self.snapshot = snapshot
        self.on_book = on_book
        self.depth = depth
        self.max_snapshot_attempts = max_snapshot_attempts
        self.now = now
        self.update_id: int | None = None  # None: not in sync
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.snapshots = 0
        self.gaps = 0
        self.dropped = 0  # events older than the book

    @property
    def synced(self) -> bool:
        return self.update_id is not None

    def reset(self) -> None:
        """Forget the book (a new connection: events were missed)."""
        self.update_id = None
        self.bids.clear()
        self.asks.clear()

    async def on_event(self, event: Mapping[str, Any]) -> None:
        """Apply one ``depthUpdate`` event (syncing from a snapshot first when needed). Every
        change of the book is passed to ``on_book``: a (re)sync, then each applied event."""
        first, last = int(event["U"]), int(event["u"])
        if self.update_id is not None and last > self.update_id and first > self.update_id + 1:
            self.gaps += 1
            logger.warning(
                "depth stream gap: resync from snapshot",
                extra={
                    "venue": self.venue,
                    "symbol": self.symbol,
                    "expected": self.update_id + 1,
                    "got": first,
                },
            )
            self.reset()
        if self.update_id is None:
            if not await self._sync(first):
                return  # the snapshot could not be had; the next event tries again
            assert self.update_id is not None  # and at least first - 1: no gap left
            if last <= self.update_id:
                self.dropped += 1
                await self.on_book(self.book())  # the snapshot is the news
                return
        elif last <= self.update_id:
            self.dropped += 1  # already in the book (step 3 / update rule 1)
            return
        _apply(self.bids, event.get("b") or [])
        _apply(self.asks, event.get("a") or [])
        self.update_id = last
        await self.on_book(self.book())

    def book(self) -> OrderBook:
        """The current top ``depth`` levels a side, best first, ``sequence`` = update id."""
        bids = sorted(self.bids.items(), key=lambda level: level[0], reverse=True)[: self.depth]
        asks = sorted(self.asks.items(), key=lambda level: level[0])[: self.depth]
        return OrderBook(
            venue=self.venue,
            symbol=self.symbol,
            timestamp=self.now(),
            bids=tuple(BookLevel(price, amount) for price, amount in bids),
            asks=tuple(BookLevel(price, amount) for price, amount in asks),
            sequence=self.update_id,
        )

    async def _sync(self, first_update: int) -> bool:
        """Install a snapshot at least as new as ``first_update - 1`` (steps 2-3)."""
        for _ in range(self.max_snapshot_attempts):
            try:
                snapshot = await self.snapshot()
            except ExchangeFailure as error:
                logger.warning(
                    "depth snapshot failed", extra={"venue": self.venue, "error": error.code}
                )
                return False
            self.snapshots += 1
            if snapshot.sequence is None:
                raise ValueError(f"a {self.venue} depth snapshot without lastUpdateId")
            if snapshot.sequence + 1 >= first_update:
                self.bids = {level.price: level.amount for level in snapshot.bids}
                self.asks = {level.price: level.amount for level in snapshot.asks}
                self.update_id = snapshot.sequence
                return True
        return False


def _apply(side: dict[Decimal, Decimal], levels: list[list[Any]]) -> None:
    for level in levels:
        try:
            price, amount = Decimal(str(level[0])), Decimal(str(level[1]))
        except (InvalidOperation, IndexError, TypeError):
            continue
        if amount == 0:
            side.pop(price, None)
        else:
            side[price] = amount
