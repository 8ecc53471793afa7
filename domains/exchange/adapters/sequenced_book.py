"""A local order book kept from a venue's incremental depth stream, checked by sequence number.

Every venue's incremental feed gives each update the range of book versions it covers; a
per-venue *rule* turns a raw update into a :class:`BookDelta` ``(first, last)``:

- Binance ``U``/``u`` and Gate.io ``U``/``u``: first and last update id of the event;
- HTX ``prevSeqNum``/``seqNum``: ``first = prevSeqNum + 1``, ``last = seqNum`` (HTX numbers are
  not consecutive; the chain is ``prevSeqNum`` = the previous update's ``seqNum``).

One procedure then serves all three (Binance's "How to manage a local order book correctly",
Gate's "how to maintain local order book", HTX's MBP "suggested downstream data processing"):

1. An update that arrives while the book is not in sync is buffered, and a snapshot is asked
   for: *pulled* (a REST call awaited here: Binance, Gate) or *pushed* (a request sent on the
   stream whose answer comes back through :meth:`SequencedBook.on_snapshot`: HTX's ``req``).
2. Buffered updates with ``last <= snapshot id`` are already in it and are dropped. If the
   first remaining one starts after ``snapshot id + 1`` the snapshot is older than the stream
   and another is asked for.
3. The rest are applied in order: each level is ``[price, quantity]``, an absolute quantity, 0
   removes the level; the book's id becomes the update's ``last``.
4. In sync, an update with ``last <= id`` is old (dropped); one with ``first > id + 1`` means
   updates were missed: a **gap**. The book is discarded and rebuilt from step 1.

An update that straddles the book's id (``first <= id < last``) is applied: its quantities are
absolute, so levels it names take their value at ``last`` and the others did not change in
between. A venue may also push the whole book in the stream (Gate's ``full: true``): it
replaces the book, whose id becomes that update's ``last``.

Each change (a sync, each applied update) goes to ``on_book``. A reconnect loses updates, so
the stream calls :meth:`SequencedBook.reset` on every new connection.
"""

import bisect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domains.exchange.api import BookLevel, ExchangeFailure, OrderBook

logger = logging.getLogger(__name__)

# Pulled: the snapshot itself. Pushed: None, and the venue's answer comes to on_snapshot.
Snapshot = Callable[[], Awaitable[OrderBook | None]]


class BookSide:
    """One side of a book: quantities by price plus the prices kept sorted, so the top levels
    published after every update are a slice, not a sort of the whole side (a 1,000-level
    Binance book sorted per update ran at a fifth of the speed: bench/streams.py)."""

    def __init__(self, *, descending: bool) -> None:
        self.descending = descending  # bids: best = highest
        self.amounts: dict[Decimal, Decimal] = {}
        self._prices: list[Decimal] = []  # ascending

    def __len__(self) -> int:
        return len(self.amounts)

    def __contains__(self, price: object) -> bool:
        return price in self.amounts

    def __getitem__(self, price: Decimal) -> Decimal:
        return self.amounts[price]

    def items(self) -> list[tuple[Decimal, Decimal]]:
        """Every level, best first."""
        return [(price, self.amounts[price]) for price in self._best_first(len(self._prices))]

    def set(self, price: Decimal, amount: Decimal) -> None:
        """An absolute quantity for ``price``; 0 removes the level."""
        if amount == 0:
            if self.amounts.pop(price, None) is not None:
                del self._prices[bisect.bisect_left(self._prices, price)]
            return
        if price not in self.amounts:
            bisect.insort(self._prices, price)
        self.amounts[price] = amount

    def replace(self, levels: dict[Decimal, Decimal]) -> None:
        self.amounts = {price: amount for price, amount in levels.items() if amount}
        self._prices = sorted(self.amounts)

    def clear(self) -> None:
        self.amounts.clear()
        self._prices.clear()

    def top(self, depth: int) -> tuple[BookLevel, ...]:
        return tuple(BookLevel(price, self.amounts[price]) for price in self._best_first(depth))

    def _best_first(self, depth: int) -> list[Decimal]:
        if self.descending:
            return self._prices[: -depth - 1 : -1] if depth else []
        return self._prices[:depth]


@dataclass(frozen=True)
class BookDelta:
    """One incremental update: it takes the book from version ``first - 1`` to ``last``."""

    first: int
    last: int
    bids: Sequence[Sequence[Any]] = field(default=())
    asks: Sequence[Sequence[Any]] = field(default=())
    full: bool = False  # the venue sent the whole book (Gate ``full: true``): replace it


Rule = Callable[[Mapping[str, Any]], BookDelta]  # a venue's raw update -> delta; ValueError


class SequencedBook:
    """The synchronised book of one symbol (see the module docstring)."""

    def __init__(
        self,
        *,
        venue: str,
        symbol: str,
        rule: Rule,
        snapshot: Snapshot,
        on_book: Callable[[OrderBook], Awaitable[None]],
        depth: int = 50,
        max_snapshot_attempts: int = 5,
        patience: int = 50,
        max_buffered: int = 10_000,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.venue = venue
        self.symbol = symbol
        self.rule = rule
        self.snapshot = snapshot
        self.on_book = on_book
        self.depth = depth
        self.max_snapshot_attempts = max_snapshot_attempts
        self.patience = patience  # buffered updates before a pushed snapshot is asked again
        self.now = now
        self.update_id: int | None = None  # None: not in sync
        self.bids = BookSide(descending=True)
        self.asks = BookSide(descending=False)
        self.buffered: deque[BookDelta] = deque(maxlen=max_buffered)
        self.awaiting = False  # a pushed snapshot has been asked for
        self._waited = 0
        self.snapshots = 0  # snapshots installed
        self.stale_snapshots = 0  # snapshots older than the stream, asked again
        self.gaps = 0
        self.dropped = 0  # updates older than the book

    @property
    def synced(self) -> bool:
        return self.update_id is not None

    def reset(self) -> None:
        """Forget the book (a new connection, or a gap: updates were missed)."""
        self.update_id = None
        self.bids.clear()
        self.asks.clear()
        self.buffered.clear()
        self.awaiting = False
        self._waited = 0

    async def on_event(self, event: Mapping[str, Any]) -> None:
        """Apply one raw update of the venue (``ValueError`` when it is malformed)."""
        await self.on_delta(self.rule(event))

    async def on_delta(self, delta: BookDelta) -> None:
        """Apply ``delta``, syncing from a snapshot first when needed."""
        if delta.full:
            self._install(_levels(delta.bids), _levels(delta.asks), delta.last)
            await self.on_book(self.book())
            return
        if self.update_id is not None:
            if delta.last <= self.update_id:
                self.dropped += 1  # already in the book
                return
            if delta.first <= self.update_id + 1:
                self._apply(delta)
                await self.on_book(self.book())
                return
            self.gaps += 1
            logger.warning(
                "depth stream gap: resync from snapshot",
                extra={
                    "venue": self.venue,
                    "symbol": self.symbol,
                    "expected": self.update_id + 1,
                    "got": delta.first,
                },
            )
            self.reset()
        self.buffered.append(delta)
        if self.awaiting:
            self._waited += 1
            if self._waited < self.patience:
                return
            logger.warning(
                "depth snapshot did not come: asking again",
                extra={"venue": self.venue, "symbol": self.symbol, "buffered": self._waited},
            )
        await self._resync()

    async def on_snapshot(self, snapshot: OrderBook) -> None:
        """A snapshot the venue pushed in answer to ours (HTX ``req``)."""
        if not self.awaiting:
            return  # in sync already (or reset since): a late answer
        self.awaiting = False
        await self._sync(snapshot)  # when it does not fit, the next update asks again

    def snapshot_failed(self) -> None:
        """The venue refused our snapshot request: the next update asks again."""
        self.awaiting = False

    def book(self) -> OrderBook:
        """The current top ``depth`` levels a side, best first, ``sequence`` = update id."""
        return OrderBook(
            venue=self.venue,
            symbol=self.symbol,
            timestamp=self.now(),
            bids=self.bids.top(self.depth),
            asks=self.asks.top(self.depth),
            sequence=self.update_id,
        )

    # --- syncing ------------------------------------------------------------------------------

    async def _resync(self) -> None:
        for _ in range(self.max_snapshot_attempts):
            self.awaiting, self._waited = True, 0
            try:
                snapshot = await self.snapshot()
            except ExchangeFailure as error:
                self.awaiting = False
                logger.warning(
                    "depth snapshot failed",
                    extra={"venue": self.venue, "symbol": self.symbol, "error": error.code},
                )
                return  # the next update tries again
            if snapshot is None:
                return  # asked for; on_snapshot brings it
            self.awaiting = False
            if await self._sync(snapshot):
                return
        self.awaiting = False  # the next update tries again

    async def _sync(self, snapshot: OrderBook) -> bool:
        """Install ``snapshot`` and replay the buffer (steps 2-3); False when it does not fit."""
        if snapshot.sequence is None:
            raise ValueError(f"a {self.venue} depth snapshot without an update id")
        newer = [delta for delta in self.buffered if delta.last > snapshot.sequence]
        if newer and newer[0].first > snapshot.sequence + 1:
            self.stale_snapshots += 1  # older than the stream: updates in between are unknown
            return False
        self.dropped += len(self.buffered) - len(newer)
        self._install(
            {level.price: level.amount for level in snapshot.bids if level.amount},
            {level.price: level.amount for level in snapshot.asks if level.amount},
            snapshot.sequence,
        )
        self.snapshots += 1
        for index, delta in enumerate(newer):
            assert self.update_id is not None
            if delta.first > self.update_id + 1:  # a gap inside the buffer
                self.gaps += 1
                self.reset()
                self.buffered.extend(newer[index:])
                return False
            self._apply(delta)
        await self.on_book(self.book())
        return True

    def _install(
        self, bids: dict[Decimal, Decimal], asks: dict[Decimal, Decimal], update_id: int
    ) -> None:
        self.bids.replace(bids)
        self.asks.replace(asks)
        self.update_id = update_id
        self.buffered.clear()
        self.awaiting, self._waited = False, 0

    def _apply(self, delta: BookDelta) -> None:
        _apply(self.bids, delta.bids)
        _apply(self.asks, delta.asks)
        self.update_id = delta.last


def _level(level: Sequence[Any]) -> tuple[Decimal, Decimal] | None:
    """``(price, quantity)``, or None for a level that is not one: unreadable, or numbers no
    venue sends (NaN cannot even be ordered among the prices; infinite, negative)."""
    try:
        # str() first: HTX sends JSON numbers, and a float's shortest repr is its decimal text
        price, amount = Decimal(str(level[0])), Decimal(str(level[1]))
    except (InvalidOperation, IndexError, TypeError, KeyError):
        return None
    if not (price.is_finite() and amount.is_finite()) or price <= 0 or amount < 0:
        return None
    return price, amount


def _levels(levels: Sequence[Sequence[Any]]) -> dict[Decimal, Decimal]:
    side: dict[Decimal, Decimal] = {}
    for parsed in filter(None, map(_level, levels)):  # one bad level does not spoil the rest
        price, amount = parsed
        if amount == 0:
            side.pop(price, None)
        else:
            side[price] = amount
    return side


def _apply(side: BookSide, levels: Sequence[Sequence[Any]]) -> None:
    for parsed in filter(None, map(_level, levels)):  # one bad level does not spoil the update
        side.set(*parsed)


def book_levels(levels: Sequence[Sequence[Any]]) -> tuple[BookLevel, ...]:
    """``[[price, quantity], ...]`` as book levels, in the order given (bad levels skipped)."""
    parsed = (_level(level) for level in levels)
    return tuple(BookLevel(price, amount) for price, amount in filter(None, parsed))


def sequence_number(event: Mapping[str, Any], key: str) -> int:
    """An integer field of a venue update; ``ValueError`` when missing or not a number."""
    value = event.get(key)
    try:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(value)
        return int(value)
    except ValueError:
        raise ValueError(f"no integer {key!r} in the update: {value!r}") from None
