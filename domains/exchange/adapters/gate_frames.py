"""Gate.io spot websocket v4 frames (``wss://api.gateio.ws/ws/v4/``), from Gate's "Spot
WebSocket v4" docs.

- **Requests** (docs "Client request"): ``{"time": <s>, "id": <int>, "channel", "event":
  "subscribe", "payload": [...]}``; ``time`` must be within 60 s of the server's.
- **Answers** (docs "Server response", "Error"): ``{"time", "time_ms", "id", "channel",
  "event": "subscribe", "payload", "error": null, "result": {"status": "success"}}``; a refusal
  carries ``"error": {"code": 2, "message": "unknown currency pair: X"}`` (1 bad request body,
  2 bad argument, 3 server error, 4 authentication).
- **Depth** ``spot.order_book_update``, payload ``[pair, "100ms"]`` (20ms: 20 levels, 100ms:
  100 levels; docs "Changed order book levels")::

      {"time": 1606294781, "time_ms": 1606294781236, "channel": "spot.order_book_update",
       "event": "update", "result": {"t": 1606294781123, "full": true, "l": "100",
       "s": "BTC_USDT", "U": 48776301, "u": 48776306,
       "b": [["19137.74", "0.0001"], ["19088.37", "0"]], "a": [["19137.75", "0.6135"]]}}

  ``U``/``u`` are the first/last order-book update id since the previous push, the ids of
  ``GET /api/v4/spot/order_book?with_id=true`` (its ``id``). ``full: true`` (absent otherwise)
  is the whole book: replace the local one. Docs "How to maintain local order book": buffer,
  take the REST base book (``baseID``), drop ``u < baseID + 1``, start at ``U <= baseID + 1 <=
  u``, refetch when ``baseID + 1 <`` the first ``U``, and rebuild on any later ``U > id + 1``.
- **Best bid/ask** ``spot.book_ticker``, payload ``[pair, ...]``: ``result`` ``{"t", "u",
  "s", "b", "B", "a", "A"}``.
- **Trades** ``spot.trades``, payload ``[pair]``: ``result`` ``{"id", "create_time",
  "create_time_ms": "1606292218213.4578", "side": "sell", "currency_pair", "amount", "price",
  "range"}``; ``side`` is the taker's.
- **Keepalive** (docs "Application ping pong"): ``{"time": <s>, "channel": "spot.ping"}``
  answered by ``{"time", "channel": "spot.pong", "event": "", "error": null, "result": null}``;
  optional (the server pings at the protocol level) but it resets the server's timeout.
- **Service upgrade** notice: ``{"type": "upgrade", "msg": "The connection will soon be closed
  ..."}``.
"""

import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any

from domains.exchange.adapters.market_frames import (
    DepthUpdate,
    Heartbeat,
    Malformed,
    Notice,
    Refused,
    StreamItem,
    Subscribed,
    quote,
    trade_print,
    trades,
)
from domains.exchange.adapters.sequenced_book import BookDelta, sequence_number

GATE_WS_URL = "wss://api.gateio.ws/ws/v4/"
DEPTH_CHANNEL = "spot.order_book_update"
TICKER_CHANNEL = "spot.book_ticker"
TRADES_CHANNEL = "spot.trades"
DEPTH_INTERVAL = "100ms"  # 100 levels every 100 ms
DEPTH_LEVELS = 100  # so the REST base book is taken with limit=100


def gate_topics(pair: str) -> list[str]:
    """The subscriptions of one pair, as ``"<channel> <payload...>"``."""
    return [
        f"{DEPTH_CHANNEL} {pair} {DEPTH_INTERVAL}",
        f"{TICKER_CHANNEL} {pair}",
        f"{TRADES_CHANNEL} {pair}",
    ]


class GateSubscribe:
    """Builds the subscribe frames of a connection (a fresh ``time``; ``id`` counts up)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.ids = itertools.count(1)

    def __call__(self, topics: list[str]) -> list[dict[str, Any]]:
        frames = []
        for topic in topics:
            channel, *payload = topic.split()
            frames.append(
                {
                    "time": int(self.clock()),
                    "id": next(self.ids),
                    "channel": channel,
                    "event": "subscribe",
                    "payload": payload,
                }
            )
        return frames

    def ping(self) -> dict[str, Any]:
        return {"time": int(self.clock()), "channel": "spot.ping"}


def gate_delta(event: Mapping[str, Any]) -> BookDelta:
    """Gate's rule: ``U`` first and ``u`` last update id; ``full`` replaces the book."""
    bids, asks = event.get("b") or [], event.get("a") or []
    if not isinstance(bids, list) or not isinstance(asks, list):
        raise ValueError("order_book_update levels are not lists")
    last = sequence_number(event, "u")
    full = event.get("full") is True
    first = sequence_number(event, "U") if "U" in event or not full else last
    return BookDelta(first, last, bids, asks, full=full)


def read_gate(message: Any) -> StreamItem | None:
    if not isinstance(message, dict):
        return None
    if message.get("type") == "upgrade":
        return Notice(str(message.get("msg") or "service upgrade"))
    channel = str(message.get("channel") or "")
    error = message.get("error")
    if error:
        payload = message.get("payload")
        topic = " ".join([channel, *map(str, payload)]) if isinstance(payload, list) else channel
        if isinstance(error, dict):
            return Refused(topic, f"code {error.get('code')}: {error.get('message')}")
        return Refused(topic, str(error))
    if channel == "spot.pong":
        return Heartbeat()
    event = message.get("event")
    if event == "subscribe":
        payload = message.get("payload")
        topic = " ".join([channel, *map(str, payload)]) if isinstance(payload, list) else channel
        return Subscribed(topic)
    if event != "update" or channel not in (DEPTH_CHANNEL, TICKER_CHANNEL, TRADES_CHANNEL):
        return None
    result = message.get("result")
    if channel == TRADES_CHANNEL:
        return _trade(result)
    if not isinstance(result, dict) or not result.get("s"):
        return Malformed(f"{channel} update without a result of a pair")
    pair = str(result["s"])
    if channel == DEPTH_CHANNEL:
        return DepthUpdate(pair, result)
    if "b" not in result or "a" not in result:
        return Malformed(f"{channel} update without b/a")
    return quote(pair, result["b"], result["a"])


def _trade(result: Any) -> StreamItem:
    if not isinstance(result, dict) or not result.get("currency_pair"):
        return Malformed(f"{TRADES_CHANNEL} update without a result of a pair")
    pair = str(result["currency_pair"])
    when = result.get("create_time_ms") or (
        float(result["create_time"]) * 1000 if _number(result.get("create_time")) else None
    )
    print_ = trade_print(
        result.get("id"), result.get("price"), result.get("amount"), result.get("side"), when
    )
    return trades(pair, [print_], TRADES_CHANNEL)


def _number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
