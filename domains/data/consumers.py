"""``WS /api/v1/market-data/stream/{symbol}?venue=&timeframe=[&market_type=&price_type=]``.

Signed-in users only. Pushes one frame per candle event of the series:
``{"type": "candle", "closed": true|false, "series": {...}, "candle": {open_time, time, open,
high, low, close, volume}, "synthetic": bool}``: closed bars as they are stored (``CandleClosed``),
bars in progress as they change (``CandleUpdated``). ``market_type`` defaults to what the
symbol says (``BTC-USDT`` spot, ``BTC-USDT:USDT`` swap, ``BTC-USDT:USDT-240329`` future) and
``price_type`` to ``trades``. Bad parameters close the socket with 4400 after an error frame in
the one error format.
"""

import re
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from domains.data.services.stream import stream_group
from dsta.kernel.errors import DstaError, InvalidInput
from dsta.kernel.http import error_body
from dsta.kernel.market import SeriesKey, symbol_from_url

# Close codes in the private 4000-4999 range, mirroring HTTP 401 and 400.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_BAD_REQUEST = 4400
_FUTURE_SUFFIX = re.compile(r"-\d{6}")


def market_type_of(symbol: str) -> str:
    """The market type a ccxt symbol implies: no settle currency spot, an expiry future."""
    if ":" not in symbol:
        return "spot"
    return "future" if _FUTURE_SUFFIX.search(symbol.split(":", 1)[1]) else "swap"


def series_from_scope(scope: dict[str, Any]) -> SeriesKey:
    """The series a connection asks for (``InvalidInput`` when the parameters are bad)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))

    def one(name: str, default: str | None = None) -> str:
        values = query.get(name)
        if values and values[0].strip():
            return values[0].strip()
        if default is None:
            raise InvalidInput(f"the {name} query parameter is required", details={"field": name})
        return default

    symbol = symbol_from_url(str(scope["url_route"]["kwargs"]["symbol"]))
    return SeriesKey.of(
        one("venue"),
        one("market_type", market_type_of(symbol)),
        symbol,
        one("price_type", "trades"),
        one("timeframe"),
    )


class CandleStreamConsumer(AsyncJsonWebsocketConsumer):
    """Streams closed and in-progress candles of one series (read-only)."""

    group: str | None = None

    async def connect(self) -> None:
        """Accept signed-in users with a valid series; close with 4401 / 4400 otherwise."""
        user = self.scope.get("user")
        # Accept first so the client sees the close code instead of a bare refusal.
        await self.accept(subprotocol=self.scope.get("auth_subprotocol"))
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        try:
            series = series_from_scope(self.scope)
        except DstaError as exc:
            await self.send_json(error_body(exc.code, exc.message, exc.details))
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        self.group = stream_group(series)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "subscribed", "series": series.as_dict()})

    async def disconnect(self, code: int) -> None:
        """Leave the series' group (if the connection got that far)."""
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """The stream is one-way: incoming frames are ignored, not parsed."""

    async def candle_message(self, message: dict[str, Any]) -> None:
        """A ``candle.message`` group message: forward its frame."""
        await self.send_json(message["frame"])
