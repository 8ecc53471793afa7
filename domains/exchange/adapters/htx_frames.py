"""HTX (Huobi) spot market websocket frames (``wss://api.huobi.pro/ws``), from HTX's spot API
docs ("Websocket Market Data": introduction, heartbeat, sub/req, "Market By Price (incremental
update)", "Best Bid/Offer").

Every frame from HTX is gzip-compressed JSON in a binary frame (``ws_client.gzip_json``); ours
are JSON text.

- **Heartbeat**: HTX sends ``{"ping": 1492420473027}`` every 5 s and drops a client that misses
  two: answer ``{"pong": 1492420473027}`` (the same number).
- **Subscribe**: ``{"sub": "market.btcusdt.mbp.150", "id": "<ours>"}`` answered by ``{"id",
  "status": "ok", "subbed": "market.btcusdt.mbp.150", "ts"}`` or ``{"id", "status": "error",
  "err-code": "bad-request", "err-msg": "invalid topic ...", "ts"}``. We use the topic as the
  id, so a refusal names what it refuses.
- **Depth** ``market.$symbol.mbp.150`` (150 levels, the gap between two snapshots 100 ms
  apart)::

      {"ch": "market.btcusdt.mbp.150", "ts": 1573199608679,
       "tick": {"seqNum": 100020146795, "prevSeqNum": 100020146794,
                "bids": [], "asks": [[645.14, 26.755973959140651643]]}}

  Numbers, not strings; size 0 removes the level. The whole book is asked on the same
  connection with ``{"req": "market.btcusdt.mbp.150", "id": ...}`` and comes back as ``{"id",
  "rep": "market.btcusdt.mbp.150", "status": "ok", "data": {"seqNum", "bids", "asks"}}``.
  Docs' processing: subscribe and buffer, request the refresh image, align its ``seqNum`` with
  a buffered ``prevSeqNum``, then each update's ``prevSeqNum`` must be the previous ``seqNum``;
  otherwise data was lost: request the image again.
- **Trades** ``market.$symbol.trade.detail``: ``{"ch", "ts", "tick": {"id", "ts", "data":
  [{"id", "ts", "tradeId": 102523573486, "amount": 0.006754, "price": 52648.62, "direction":
  "buy"}]}}``, several trades a frame; ``direction`` is the taker's side.
- **Best bid/offer** ``market.$symbol.bbo``: ``{"ch", "ts", "tick": {"seqId", "ask",
  "askSize", "bid", "bidSize", "quoteTime", "symbol"}}``.
"""

from collections.abc import Mapping
from typing import Any

from domains.exchange.adapters.market_frames import (
    DepthSnapshot,
    DepthUpdate,
    Heartbeat,
    Malformed,
    Refused,
    SnapshotRefused,
    StreamItem,
    Subscribed,
    quote,
    trade_print,
    trades,
)
from domains.exchange.adapters.sequenced_book import BookDelta, sequence_number

HTX_WS_URL = "wss://api.huobi.pro/ws"
DEPTH_LEVELS = 150
REQ_PREFIX = "req "  # the id of our snapshot requests: "req <topic>"


def depth_topic(symbol_id: str) -> str:
    return f"market.{symbol_id}.mbp.{DEPTH_LEVELS}"


def htx_topics(symbol_id: str) -> list[str]:
    return [depth_topic(symbol_id), f"market.{symbol_id}.bbo", f"market.{symbol_id}.trade.detail"]


def htx_subscribe(topics: list[str]) -> list[dict[str, str]]:
    return [{"sub": topic, "id": topic} for topic in topics]


def snapshot_request(symbol_id: str) -> dict[str, str]:
    topic = depth_topic(symbol_id)
    return {"req": topic, "id": REQ_PREFIX + topic}


def htx_delta(event: Mapping[str, Any]) -> BookDelta:
    """HTX's rule: the update follows ``prevSeqNum`` and brings the book to ``seqNum``."""
    bids, asks = event.get("bids") or [], event.get("asks") or []
    if not isinstance(bids, list) or not isinstance(asks, list):
        raise ValueError("mbp levels are not lists")
    previous = sequence_number(event, "prevSeqNum")
    return BookDelta(previous + 1, sequence_number(event, "seqNum"), bids, asks)


def _symbol_of(topic: str) -> str:
    parts = topic.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "market" else ""


def read_htx(message: Any) -> StreamItem | None:
    if not isinstance(message, dict):
        return None
    if "ping" in message:
        return Heartbeat(reply={"pong": message["ping"]})
    if message.get("action") == "ping":  # the v2 (/ws/v2) form
        data = message.get("data")
        ts = data.get("ts") if isinstance(data, dict) else None
        return Heartbeat(reply={"action": "pong", "data": {"ts": ts}})
    if message.get("status") == "error":
        request = str(message.get("id") or "")
        reason = f"{message.get('err-code')}: {message.get('err-msg')}"
        if request.startswith(REQ_PREFIX):
            return SnapshotRefused(_symbol_of(request.removeprefix(REQ_PREFIX)), reason)
        return Refused(request or "request", reason)
    if "subbed" in message:
        return Subscribed(str(message["subbed"]))
    if "rep" in message:
        return _snapshot(message)
    topic = message.get("ch")
    if not isinstance(topic, str) or not topic.startswith("market."):
        return None
    tick = message.get("tick")
    symbol_id = _symbol_of(topic)
    if not isinstance(tick, dict) or not symbol_id:
        return Malformed(f"{topic} without a tick")
    if topic == depth_topic(symbol_id):
        return DepthUpdate(symbol_id, tick)
    if topic.endswith(".bbo"):
        if "bid" not in tick or "ask" not in tick:
            return Malformed(f"{topic} without bid/ask")
        return quote(symbol_id, tick["bid"], tick["ask"])
    if topic.endswith(".trade.detail"):
        data = tick.get("data")
        if not isinstance(data, list):
            return Malformed(f"{topic} without a list of trades")
        return trades(
            symbol_id,
            [
                trade_print(
                    row.get("tradeId", row.get("id")),
                    row.get("price"),
                    row.get("amount"),
                    row.get("direction"),
                    row.get("ts"),
                )
                if isinstance(row, dict)
                else None
                for row in data
            ],
            topic,
        )
    return None


def _snapshot(message: Mapping[str, Any]) -> StreamItem:
    topic = str(message.get("rep"))
    data = message.get("data")
    if message.get("status") != "ok" or not isinstance(data, dict):
        return SnapshotRefused(_symbol_of(topic), f"refresh image not ok: {message.get('status')}")
    bids, asks = data.get("bids") or [], data.get("asks") or []
    try:
        sequence = sequence_number(data, "seqNum")
    except ValueError as error:
        return Malformed(f"{topic}: {error}")
    if not isinstance(bids, list) or not isinstance(asks, list):
        return Malformed(f"{topic}: levels are not lists")
    return DepthSnapshot(_symbol_of(topic), sequence, bids, asks)
