"""What a venue's market-data frame says, independent of the venue: each venue's reader
(``read_binance`` here, ``gate_frames.read_gate``, ``htx_frames.read_htx``) turns one decoded
frame into one of these items (or None for frames we do not use), and the market stream acts on
them the same way for every venue."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True)
class DepthUpdate:
    """One incremental book update of ``venue_id`` (raw: the venue's rule reads it)."""

    venue_id: str
    event: Mapping[str, Any]


@dataclass(frozen=True)
class DepthSnapshot:
    """A whole book the venue sent on the stream in answer to our request (HTX ``req``)."""

    venue_id: str
    sequence: int
    bids: Sequence[Sequence[Any]]
    asks: Sequence[Sequence[Any]]


@dataclass(frozen=True)
class BestQuote:
    venue_id: str
    bid: Decimal
    ask: Decimal


@dataclass(frozen=True)
class Subscribed:
    topic: str


@dataclass(frozen=True)
class Refused:
    """The venue refused a subscription (or another request of ours) and said why."""

    topic: str
    reason: str


@dataclass(frozen=True)
class SnapshotRefused:
    venue_id: str
    reason: str


@dataclass(frozen=True)
class Heartbeat:
    """An application-level ping (``reply`` is the pong to send) or pong (``reply`` None)."""

    reply: Any = None


@dataclass(frozen=True)
class Notice:
    """Something the venue announced (Gate: a service upgrade is about to close us)."""

    text: str


@dataclass(frozen=True)
class Malformed:
    """JSON, but not a frame of the documented shape."""

    reason: str


StreamItem = (
    DepthUpdate
    | DepthSnapshot
    | BestQuote
    | Subscribed
    | Refused
    | SnapshotRefused
    | Heartbeat
    | Notice
    | Malformed
)


def quote(venue_id: str, bid: Any, ask: Any) -> BestQuote | Malformed:
    """A best bid/ask from the venue's strings (or JSON numbers: HTX)."""
    try:
        return BestQuote(venue_id, Decimal(str(bid)), Decimal(str(ask)))
    except InvalidOperation:
        return Malformed(f"best bid/ask of {venue_id} is not a number: {bid!r}/{ask!r}")


# --- Binance ---------------------------------------------------------------------------------


def binance_subscribe(subscriptions: list[str]) -> list[dict[str, Any]]:
    """Binance's subscribe frame (``{"method": "SUBSCRIBE", "params": [...], "id": 1}``)."""
    return [{"method": "SUBSCRIBE", "params": subscriptions, "id": 1}] if subscriptions else []


def read_binance(message: Any) -> StreamItem | None:
    """Binance spot streams ("WebSocket Streams" docs): ``depthUpdate`` events, bookTicker
    frames (no ``"e"``), and answers to our SUBSCRIBE: ``{"result": null, "id": 1}`` or
    ``{"error": {"code": 2, "msg": "Invalid request: ..."}, "id": 1}``."""
    if not isinstance(message, dict):
        return None
    if "id" in message and ("result" in message or "error" in message):
        error = message.get("error")
        if error:
            reason = (
                f"{error.get('code')}: {error.get('msg')}" if isinstance(error, dict) else error
            )
            return Refused(f"request {message.get('id')}", str(reason))
        return Subscribed(f"request {message.get('id')}")
    data = message.get("data", message)  # combined streams wrap the payload
    if not isinstance(data, dict) or not data.get("s"):
        return None
    venue_id = str(data["s"]).upper()
    if data.get("e") == "depthUpdate":
        return DepthUpdate(venue_id, data)
    if {"b", "a", "B", "A"} <= data.keys():  # bookTicker has no "e"
        return quote(venue_id, data["b"], data["a"])
    return None
