"""Live market data from Binance's websocket: synchronised books and best bid/ask, published
as the transient ``OrderBookUpdated``/``TickerUpdated`` events (the paper exchange publishes
the same ones).

One connection carries every subscribed symbol (``<symbol>@depth@100ms`` diff streams and
``<symbol>@bookTicker``); each symbol's book is kept by a ``DepthBook`` synchronised from REST
snapshots (through the resilient ``LiveVenue``: rate-limited, retried). Each connection going up
or down is reported to the venue's health and as a durable ``VenueStatusChanged``.
"""

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async

from domains.exchange.adapters.binance_depth import DepthBook
from domains.exchange.adapters.ws_client import ReconnectingStream, StreamSettings
from domains.exchange.api import OrderBook
from domains.exchange.events import OrderBookUpdated, TickerUpdated
from domains.exchange.services.live import LiveVenue
from domains.exchange.services.resilience.runtime import VenueRuntime
from dsta.kernel.bus import Event, publish

BINANCE_WS_URL = "wss://stream.binance.com:9443/ws"
SNAPSHOT_LIMIT = 1000  # GET /api/v3/depth?limit=1000: weight 50
PUBLISHED_DEPTH = 50


def binance_subscribe(subscriptions: list[str]) -> list[dict[str, Any]]:
    """Binance's subscribe frame (``{"method": "SUBSCRIBE", "params": [...], "id": 1}``)."""
    return [{"method": "SUBSCRIBE", "params": subscriptions, "id": 1}] if subscriptions else []


class BinanceMarketStream:
    """Books and tickers of ``symbols`` (ccxt symbols) on Binance, kept live."""

    def __init__(
        self,
        *,
        symbols: list[str],
        live: LiveVenue,
        runtime: VenueRuntime,
        url: str = BINANCE_WS_URL,
        settings: StreamSettings | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        emit: Callable[[Event], None] = publish,
    ) -> None:
        self.live = live
        self.runtime = runtime
        self.emit = emit
        self.by_id: dict[str, str] = {}
        self.books: dict[str, DepthBook] = {}
        subscriptions = []
        for symbol in symbols:
            venue_id = live.market(symbol).venue_symbol  # UnknownSymbol before connecting
            self.by_id[venue_id.upper()] = symbol
            self.books[symbol] = DepthBook(
                venue="binance",
                symbol=symbol,
                snapshot=self._snapshot_of(symbol),
                on_book=self._book_changed,
            )
            subscriptions += [f"{venue_id.lower()}@depth@100ms", f"{venue_id.lower()}@bookTicker"]
        self.stream = ReconnectingStream(
            url,
            subscriptions=subscriptions,
            subscribe=binance_subscribe,
            on_message=self._message,
            on_status=self._status,
            on_connect=self._connected,
            settings=settings,
            sleep=sleep,
        )

    async def run(self) -> None:
        await self.stream.run()

    def stop(self) -> None:
        self.stream.stop()

    # --- frames -------------------------------------------------------------------------------

    async def _message(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        data = message.get("data", message)  # combined streams wrap the payload
        if not isinstance(data, dict):
            return
        symbol = self.by_id.get(str(data.get("s", "")).upper())
        if symbol is None:
            return  # a subscription answer ({"result": null, "id": 1}) or another symbol
        if data.get("e") == "depthUpdate":
            await self.books[symbol].on_event(data)
        elif {"b", "a", "B", "A"} <= data.keys():  # bookTicker has no "e"
            await self._emit(
                TickerUpdated(
                    venue="binance",
                    symbol=symbol,
                    bid=Decimal(str(data["b"])),
                    ask=Decimal(str(data["a"])),
                )
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
            book.reset()  # events were missed while we were away

    async def _status(self, up: bool, reason: str) -> None:
        # Durable event: the outbox write is database work, off the event loop.
        await sync_to_async(self.runtime.websocket_changed)(up=up, reason=reason)

    async def _emit(self, event: Event) -> None:
        # Subscribers run synchronously (and may push to channel layers): off the loop.
        await sync_to_async(self.emit, thread_sensitive=False)(event)

    def _snapshot_of(self, symbol: str) -> Callable[[], Awaitable[OrderBook]]:
        async def snapshot() -> OrderBook:
            return await asyncio.to_thread(self.live.order_book, symbol, SNAPSHOT_LIMIT)

        return snapshot
