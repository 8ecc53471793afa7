"""``WS /api/v1/exchange/{venue}/stream``: a signed-in user's orders and fills on that venue,
and the tickers and books of the symbols they subscribe to.

Client frames::

    {"action": "subscribe", "symbols": ["BTC-USDT"], "channels": ["ticker", "orderbook", "trades"]}
    {"action": "unsubscribe", "symbols": ["BTC-USDT"]}

Server frames: ``{"type": "subscribed", "symbols": [...], "channels": [...]}``,
``{"type": "order", "order": {...}}``, ``{"type": "fill", "fill": {...}}``,
``{"type": "ticker", "ticker": {...}}``, ``{"type": "orderbook", "book": {...}}``,
``{"type": "trade", "trade": {...}}`` (the public tape; ``channels`` defaults to all three) and
``{"type": "error", "error": {"code", "message", "details"}}`` for a bad frame (the
connection stays open). Close codes: 4401 not signed in, 4404 unknown venue.
"""

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from domains.exchange.api import Venue
from domains.exchange.services.stream_push import market_group, user_group
from dsta.kernel.errors import DstaError, InvalidInput
from dsta.kernel.market import symbol_from_url

CLOSE_UNAUTHENTICATED = 4401
CLOSE_UNKNOWN_VENUE = 4404
MAX_SYMBOLS = 50
CHANNELS = ("ticker", "orderbook", "trades")


class ExchangeStreamConsumer(AsyncJsonWebsocketConsumer):
    venue: str = ""
    groups_joined: set[str]
    channels: dict[str, set[str]]  # symbol -> channels subscribed

    async def connect(self) -> None:
        """Accept a signed-in user on a known venue, joining their own group."""
        self.groups_joined = set()
        self.channels = {}
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        venue = str(self.scope["url_route"]["kwargs"].get("venue", ""))
        if venue not in {v.value for v in Venue}:
            await self.close(code=CLOSE_UNKNOWN_VENUE)
            return
        self.venue = venue
        await self._join(user_group(int(user.pk)))

    async def disconnect(self, code: int) -> None:
        for group in list(self.groups_joined):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined.clear()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        try:
            await self._command(content)
        except DstaError as error:
            await self.send_json({"type": "error", **error.as_dict()})

    async def decode_json(self, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None  # answered as a bad frame by _command

    # --- client commands ------------------------------------------------------------------------

    async def _command(self, content: Any) -> None:
        if not isinstance(content, dict) or content.get("action") not in (
            "subscribe",
            "unsubscribe",
        ):
            raise InvalidInput(
                'send {"action": "subscribe" | "unsubscribe", "symbols": [...]}',
                details={"allowed_actions": ["subscribe", "unsubscribe"]},
            )
        symbols_in = content.get("symbols")
        if not isinstance(symbols_in, list) or not symbols_in or len(symbols_in) > MAX_SYMBOLS:
            raise InvalidInput(
                f"symbols must be a list of 1 to {MAX_SYMBOLS} symbols",
                details={"field": "symbols"},
            )
        symbols = [symbol_from_url(str(symbol)) for symbol in symbols_in]
        if content["action"] == "unsubscribe":
            for symbol in symbols:
                self.channels.pop(symbol, None)
                await self._leave(market_group(self.venue, symbol))
            await self.send_json({"type": "unsubscribed", "symbols": symbols})
            return
        wanted = content.get("channels", list(CHANNELS))
        if not isinstance(wanted, list) or not set(wanted) <= set(CHANNELS) or not wanted:
            raise InvalidInput(
                f"channels must be a list among {list(CHANNELS)}", details={"field": "channels"}
            )
        if len(set(self.channels) | set(symbols)) > MAX_SYMBOLS:
            raise InvalidInput(f"at most {MAX_SYMBOLS} symbols per stream")
        for symbol in symbols:
            self.channels[symbol] = set(wanted)
            await self._join(market_group(self.venue, symbol))
        await self.send_json(
            {"type": "subscribed", "symbols": symbols, "channels": sorted(set(wanted))}
        )

    # --- group messages -----------------------------------------------------------------------

    async def exchange_order(self, message: dict[str, Any]) -> None:
        if message["venue"] == self.venue:
            await self.send_json({"type": "order", "order": message["order"]})

    async def exchange_fill(self, message: dict[str, Any]) -> None:
        if message["venue"] == self.venue:
            await self.send_json({"type": "fill", "fill": message["fill"]})

    async def exchange_ticker(self, message: dict[str, Any]) -> None:
        if "ticker" in self.channels.get(message["ticker"]["symbol"], ()):
            await self.send_json({"type": "ticker", "ticker": message["ticker"]})

    async def exchange_orderbook(self, message: dict[str, Any]) -> None:
        if "orderbook" in self.channels.get(message["book"]["symbol"], ()):
            await self.send_json({"type": "orderbook", "book": message["book"]})

    async def exchange_trade(self, message: dict[str, Any]) -> None:
        if "trades" in self.channels.get(message["trade"]["symbol"], ()):
            await self.send_json({"type": "trade", "trade": message["trade"]})

    # --- helpers ------------------------------------------------------------------------------

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)

    async def _leave(self, group: str) -> None:
        if group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.discard(group)
