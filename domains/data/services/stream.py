"""Candle frames for WebSocket subscribers: one channel-layer group per series.

Closed bars arrive through the durable ``CandleClosed`` handler, bars in progress through the
transient ``CandleUpdated`` one; both end up as the same frame shape.
"""

import asyncio
import hashlib
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from domains.data.events import CandleClosed, CandleUpdated
from dsta.kernel.market import SeriesKey, symbol_to_url

CANDLE_MESSAGE_TYPE = "candle.message"
# Sends scheduled on a running loop, referenced until done (the loop keeps only weak ones).
_pending: set["asyncio.Task[None]"] = set()


def stream_group(series: SeriesKey) -> str:
    """The channel-layer group of a series. Group names allow only ``[A-Za-z0-9._-]`` (and
    under 100 characters), and a symbol holds ``/`` and ``:``, hence a digest of the key."""
    digest = hashlib.sha256(str(series).encode()).hexdigest()[:40]
    return f"data.candles.{digest}"


def candle_frame(event: CandleClosed | CandleUpdated) -> dict[str, Any]:
    """The JSON frame a subscriber receives for one candle event."""
    closed = isinstance(event, CandleClosed)
    return {
        "type": "candle",
        "closed": closed,
        "series": {
            "venue": event.venue,
            "market_type": event.market_type,
            "symbol": event.symbol,
            "url_symbol": symbol_to_url(event.symbol),
            "price_type": event.price_type,
            "timeframe": event.timeframe,
        },
        "candle": {
            "open_time": event.open_time_ms,
            "time": event.open_time.isoformat().replace("+00:00", "Z"),
            "open": event.open,
            "high": event.high,
            "low": event.low,
            "close": event.close,
            "volume": event.volume,
        },
        "synthetic": bool(getattr(event, "synthetic", False)),
    }


def candle_broadcast(event: CandleClosed | CandleUpdated) -> None:
    """Send the event's frame to its series' group (no-op without a channel layer)."""
    layer = get_channel_layer()
    if layer is None:
        return
    series = SeriesKey.of(
        event.venue, event.market_type, event.symbol, event.price_type, event.timeframe
    )
    message = {"type": CANDLE_MESSAGE_TYPE, "frame": candle_frame(event)}
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:
        async_to_sync(layer.group_send)(stream_group(series), message)
    else:
        # Published from async code (a feed on an event loop): async_to_sync cannot run here.
        task = loop.create_task(layer.group_send(stream_group(series), message))
        _pending.add(task)
        task.add_done_callback(_pending.discard)
