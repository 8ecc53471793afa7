"""Live market data from the venues' websockets: synchronised books, best bid/ask and public
trades, published as the transient ``OrderBookUpdated``/``TickerUpdated``/``TradeExecuted``
events (the paper exchange publishes the same ones).

One ``MarketStream`` per venue and process carries every subscribed symbol on one connection
(``ReconnectingStream``: reconnect, backoff, resubscribe, idle timeout). What differs per venue
is small and lives in its subclass: the URL, frame decoding, the subscriptions and their frames,
the reader that turns a frame into a ``market_frames`` item, the book's sequence rule, how a
book snapshot is had (REST through the resilient ``LiveVenue``: rate-limited, retried; or a
request on the stream: HTX) and an application keepalive (Gate's ``spot.ping``). The rest is
shared:

- each symbol's book is a ``SequencedBook`` (gap -> resync), reset on every new connection;
- every book change is an ``OrderBookUpdated`` (top 50 levels a side), every best bid/ask a
  ``TickerUpdated``, every public trade a ``TradeExecuted``;
- each connection up/down goes to the venue's health and out as a durable
  ``VenueStatusChanged``; so does a subscription the venue refuses (logged as an error too);
- a venue ping is answered at once with its pong (HTX); a connection that carries only
  heartbeats for ``idle_timeout`` seconds is stale and is reopened (HTX pings every 5 s, so the
  client's idle timeout alone would never fire);
- a venue's notice that it will close the connection (Gate's service upgrade) reconnects now;
- frames of the wrong shape are counted, logged and skipped.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from asgiref.sync import sync_to_async
from django.db import DatabaseError
from websockets.exceptions import ConnectionClosed

from domains.exchange.adapters.binance_depth import binance_delta
from domains.exchange.adapters.gate_frames import (
    DEPTH_LEVELS as GATE_DEPTH_LEVELS,
)
from domains.exchange.adapters.gate_frames import (
    GATE_WS_URL,
    GateSubscribe,
    gate_delta,
    gate_topics,
    read_gate,
)
from domains.exchange.adapters.htx_frames import (
    HTX_WS_URL,
    htx_delta,
    htx_subscribe,
    htx_topics,
    read_htx,
    snapshot_request,
)
from domains.exchange.adapters.market_frames import (
    BestQuote,
    DepthSnapshot,
    DepthUpdate,
    Heartbeat,
    Malformed,
    Notice,
    Refused,
    SnapshotRefused,
    StreamItem,
    Subscribed,
    Trades,
    binance_subscribe,
    read_binance,
)
from domains.exchange.adapters.sequenced_book import BookDelta, SequencedBook, book_levels
from domains.exchange.adapters.ws_client import (
    NotConnected,
    ReconnectingStream,
    StreamSettings,
    StreamStale,
    gzip_json,
    text_json,
)
from domains.exchange.api import OrderBook
from domains.exchange.events import OrderBookUpdated, TickerUpdated, TradeExecuted
from domains.exchange.services.live import LiveVenue
from domains.exchange.services.resilience.runtime import VenueRuntime
from dsta.kernel.bus import Event, publish

logger = logging.getLogger(__name__)

BINANCE_WS_URL = "wss://stream.binance.com:9443/ws"
SNAPSHOT_LIMIT = 1000  # Binance GET /api/v3/depth?limit=1000: weight 50
PUBLISHED_DEPTH = 50

__all__ = [
    "BINANCE_WS_URL",
    "GATE_WS_URL",
    "HTX_WS_URL",
    "MARKET_STREAMS",
    "BinanceMarketStream",
    "GateMarketStream",
    "HtxMarketStream",
    "MarketStream",
    "binance_subscribe",
]


class MarketStream:
    """Books and tickers of ``symbols`` (ccxt symbols) on one venue, kept live."""

    venue: ClassVar[str]
    default_url: ClassVar[str]
    snapshot_limit: ClassVar[int | None] = None  # levels of a REST snapshot
    keepalive_every: ClassVar[float | None] = None  # seconds between application pings

    def __init__(
        self,
        *,
        symbols: list[str],
        live: LiveVenue,
        runtime: VenueRuntime,
        url: str | None = None,
        settings: StreamSettings | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        emit: Callable[[Event], None] = publish,
        keepalive_every: float | None = None,
    ) -> None:
        self.live = live
        self.runtime = runtime
        self.emit = emit
        self.settings = settings or StreamSettings()
        self.keepalive_interval = keepalive_every or self.keepalive_every
        self.by_id: dict[str, str] = {}
        self.venue_ids: dict[str, str] = {}
        self.books: dict[str, SequencedBook] = {}
        self.subscribed: set[str] = set()
        self.refusals: list[str] = []
        self.notices: list[str] = []
        self.malformed = 0  # JSON frames of the wrong shape (undecodable: stream.stats)
        topics: list[str] = []
        for symbol in symbols:
            venue_id = live.market(symbol).venue_symbol  # UnknownSymbol before connecting
            self.by_id[self.key(venue_id)] = symbol
            self.venue_ids[symbol] = venue_id
            self.books[symbol] = SequencedBook(
                venue=self.venue,
                symbol=symbol,
                rule=self.rule,
                snapshot=self._snapshot_of(symbol, venue_id),
                on_book=self._book_changed,
            )
            topics += self.topics(venue_id)
        self.stream = ReconnectingStream(
            url or self.default_url,
            subscriptions=topics,
            subscribe=self.subscribe,
            on_message=self._message,
            on_status=self._status,
            on_connect=self._connected,
            decode=self.decode,
            settings=self.settings,
            sleep=sleep,
        )
        self._last_data = 0.0
        self._keepalive: asyncio.Task[None] | None = None

    async def run(self) -> None:
        try:
            await self.stream.run()
        finally:
            self._stop_keepalive()

    def stop(self) -> None:
        self._stop_keepalive()
        self.stream.stop()

    # --- what each venue says ---------------------------------------------------------------

    def key(self, venue_id: str) -> str:
        """How the venue's frames name a symbol (its market id, as a reader returns it)."""
        return venue_id

    def topics(self, venue_id: str) -> list[str]:
        raise NotImplementedError

    def subscribe(self, topics: list[str]) -> list[Any]:
        """The frames that subscribe ``topics`` (sent again on every connection)."""
        raise NotImplementedError

    def decode(self, raw: str | bytes) -> Any:
        return text_json(raw)

    def read(self, message: Any) -> StreamItem | None:
        raise NotImplementedError

    def rule(self, event: Any) -> BookDelta:
        """The venue's depth update as a sequence-checked delta (``ValueError``: malformed)."""
        raise NotImplementedError

    async def snapshot(self, symbol: str, venue_id: str) -> OrderBook | None:
        """A book snapshot with its update id: here over REST through the resilient client;
        a venue that answers on the stream sends its request and returns None."""
        return await asyncio.to_thread(self.live.order_book, symbol, self.snapshot_limit)

    def keepalive_frame(self) -> Any:
        raise NotImplementedError

    # --- frames -------------------------------------------------------------------------------

    async def _message(self, message: Any) -> None:
        item = self.read(message)
        if item is None:
            return
        now = asyncio.get_running_loop().time()
        if isinstance(item, DepthUpdate):
            book = self._book(item.venue_id)
            if book is not None:
                self._last_data = now
                try:
                    delta = self.rule(item.event)
                except ValueError as error:
                    self._malformed(f"depth update of {item.venue_id}: {error}")
                    return
                await book.on_delta(delta)
        elif isinstance(item, BestQuote):
            symbol = self.by_id.get(self.key(item.venue_id))
            if symbol is not None:
                self._last_data = now
                await self._emit(
                    TickerUpdated(venue=self.venue, symbol=symbol, bid=item.bid, ask=item.ask)
                )
        elif isinstance(item, Trades):
            symbol = self.by_id.get(self.key(item.venue_id))
            if symbol is not None:
                self._last_data = now
                for trade in item.prints:
                    await self._emit(
                        TradeExecuted(
                            venue=self.venue,
                            symbol=symbol,
                            trade_id=trade.trade_id,
                            price=trade.price,
                            amount=trade.amount,
                            side=trade.side,
                            traded_at=trade.traded_at,
                        )
                    )
        elif isinstance(item, DepthSnapshot):
            book = self._book(item.venue_id)
            if book is not None:
                self._last_data = now
                await book.on_snapshot(self._snapshot_book(book.symbol, item))
        elif isinstance(item, Heartbeat):
            if item.reply is not None:
                await self.stream.send(item.reply)
            if now - self._last_data > self.settings.idle_timeout:
                raise StreamStale(
                    f"only heartbeats for {self.settings.idle_timeout:g}s, no market data: stale"
                )
        elif isinstance(item, Subscribed):
            self.subscribed.add(item.topic)
        elif isinstance(item, Refused):
            await self._refused(item)
        elif isinstance(item, SnapshotRefused):
            logger.warning(
                "venue stream: snapshot request refused",
                extra={"venue": self.venue, "symbol_id": item.venue_id, "reason": item.reason},
            )
            book = self._book(item.venue_id)
            if book is not None:
                book.snapshot_failed()
        elif isinstance(item, Notice):
            # Gate: "the connection will soon be closed for a service upgrade": reconnect now
            # rather than lose updates when it goes (its docs ask for that).
            self.notices.append(item.text)
            logger.warning("venue stream notice", extra={"venue": self.venue, "text": item.text})
            self.stream.reconnect(f"{self.venue} announced: {item.text}")
        elif isinstance(item, Malformed):
            self._malformed(item.reason)

    async def _refused(self, refusal: Refused) -> None:
        reason = f"{self.venue} refused {refusal.topic}: {refusal.reason}"
        self.refusals.append(reason)
        logger.error(
            "venue stream: subscription refused",
            extra={"venue": self.venue, "topic": refusal.topic, "reason": refusal.reason},
        )
        # The data asked for is not coming: the stream is down for it (health, durable event),
        # though the connection stays open for the rest.
        await self._report(up=False, reason=reason)

    def _malformed(self, reason: str) -> None:
        self.malformed += 1
        logger.warning(
            "venue stream: malformed frame skipped", extra={"venue": self.venue, "reason": reason}
        )

    def _book(self, venue_id: str) -> SequencedBook | None:
        symbol = self.by_id.get(self.key(venue_id))
        return self.books[symbol] if symbol is not None else None

    def _snapshot_book(self, symbol: str, snapshot: DepthSnapshot) -> OrderBook:
        return OrderBook(
            venue=self.venue,
            symbol=symbol,
            timestamp=datetime.now(UTC),
            bids=book_levels(snapshot.bids),
            asks=book_levels(snapshot.asks),
            sequence=snapshot.sequence,
        )

    async def _book_changed(self, book: OrderBook) -> None:
        await self._emit(
            OrderBookUpdated(
                venue=book.venue,
                symbol=book.symbol,
                bids=[(lv.price, lv.amount) for lv in book.bids[:PUBLISHED_DEPTH]],
                asks=[(lv.price, lv.amount) for lv in book.asks[:PUBLISHED_DEPTH]],
                sequence=book.sequence,
            )
        )

    # --- connection -----------------------------------------------------------------------------

    async def _connected(self) -> None:
        for book in self.books.values():
            book.reset()  # updates were missed while we were away
        self.subscribed.clear()
        self._last_data = asyncio.get_running_loop().time()
        self._stop_keepalive()
        if self.keepalive_interval:
            self._keepalive = asyncio.create_task(self._keep_alive(self.keepalive_interval))

    async def _status(self, up: bool, reason: str) -> None:
        if not up:
            self._stop_keepalive()
        await self._report(up=up, reason=reason)

    async def _report(self, *, up: bool, reason: str) -> None:
        # Durable event: the outbox write is database work, off the event loop. A database
        # that cannot take it loses the event (logged), never the stream.
        try:
            await sync_to_async(self.runtime.websocket_changed)(up=up, reason=reason)
        except DatabaseError:
            logger.exception("venue stream: websocket status not recorded", extra={"up": up})

    async def _keep_alive(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)  # wall time, like the idle timeout
            try:
                await self.stream.send(self.keepalive_frame())
            except (NotConnected, ConnectionClosed):
                return  # the read loop sees the drop and reconnects

    def _stop_keepalive(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None

    async def _emit(self, event: Event) -> None:
        # Subscribers run synchronously (and may push to channel layers): off the loop.
        await sync_to_async(self.emit, thread_sensitive=False)(event)

    def _snapshot_of(self, symbol: str, venue_id: str) -> Callable[[], Awaitable[OrderBook | None]]:
        async def snapshot() -> OrderBook | None:
            return await self.snapshot(symbol, venue_id)

        return snapshot


class BinanceMarketStream(MarketStream):
    """``<symbol>@depth@100ms`` diff streams, ``<symbol>@bookTicker`` and ``<symbol>@trade``
    (Binance spot)."""

    venue = "binance"
    default_url = BINANCE_WS_URL
    snapshot_limit = SNAPSHOT_LIMIT

    def key(self, venue_id: str) -> str:
        return venue_id.upper()

    def topics(self, venue_id: str) -> list[str]:
        stream = venue_id.lower()
        return [f"{stream}@depth@100ms", f"{stream}@bookTicker", f"{stream}@trade"]

    def subscribe(self, topics: list[str]) -> list[Any]:
        return binance_subscribe(topics)

    def read(self, message: Any) -> StreamItem | None:
        return read_binance(message)

    def rule(self, event: Any) -> BookDelta:
        return binance_delta(event)


class GateMarketStream(MarketStream):
    """``spot.order_book_update`` (100 ms, 100 levels), ``spot.book_ticker`` and ``spot.trades``
    (Gate.io v4);
    the base book over REST (``with_id=true``), ``spot.ping`` every 10 s."""

    venue = "gateio"
    default_url = GATE_WS_URL
    snapshot_limit = GATE_DEPTH_LEVELS
    keepalive_every = 10.0  # as Gate's demo client does

    def __init__(self, **kwargs: Any) -> None:
        self.frames = GateSubscribe()
        super().__init__(**kwargs)

    def topics(self, venue_id: str) -> list[str]:
        return gate_topics(venue_id)

    def subscribe(self, topics: list[str]) -> list[Any]:
        return self.frames(topics)

    def read(self, message: Any) -> StreamItem | None:
        return read_gate(message)

    def rule(self, event: Any) -> BookDelta:
        return gate_delta(event)

    def keepalive_frame(self) -> Any:
        return self.frames.ping()


class HtxMarketStream(MarketStream):
    """``market.$symbol.mbp.150``, ``market.$symbol.bbo`` and ``market.$symbol.trade.detail``
    (HTX spot, gzip frames); the base
    book by ``req`` on the same connection; every ``ping`` answered with its ``pong``."""

    venue = "htx"
    default_url = HTX_WS_URL

    def decode(self, raw: str | bytes) -> Any:
        return gzip_json(raw)

    def topics(self, venue_id: str) -> list[str]:
        return htx_topics(venue_id)

    def subscribe(self, topics: list[str]) -> list[Any]:
        return htx_subscribe(topics)

    def read(self, message: Any) -> StreamItem | None:
        return read_htx(message)

    def rule(self, event: Any) -> BookDelta:
        return htx_delta(event)

    async def snapshot(self, symbol: str, venue_id: str) -> OrderBook | None:
        # HTX matches the image's seqNum to the updates of the same connection only.
        await self.stream.send(snapshot_request(venue_id))
        return None


MARKET_STREAMS: dict[str, type[MarketStream]] = {
    "binance": BinanceMarketStream,
    "gateio": GateMarketStream,
    "htx": HtxMarketStream,
}
