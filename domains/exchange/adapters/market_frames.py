"""What a venue's market-data frame says, independent of the venue: each venue's reader
(``read_binance`` here, ``gate_frames.read_gate``, ``htx_frames.read_htx``) turns one decoded
frame into one of these items (or None for frames we do not use), and the market stream acts on
them the same way for every venue."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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
class TradePrint:
    """One public trade; ``side`` is the aggressor's (taker's) side when the venue says."""

    trade_id: str
    price: Decimal
    amount: Decimal
    side: str | None
    traded_at: datetime


@dataclass(frozen=True)
class Trades:
    """Public trades of ``venue_id`` from one frame (HTX batches several)."""

    venue_id: str
    prints: tuple[TradePrint, ...]


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
    | Trades
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


def trade_print(
    trade_id: Any, price: Any, amount: Any, side: Any, epoch_ms: Any
) -> TradePrint | None:
    """A print from the venue's fields (strings or JSON numbers); None when one is not a
    number or the side is neither buy nor sell."""
    try:
        traded_at = datetime.fromtimestamp(float(epoch_ms) / 1000, UTC)
        value = TradePrint(
            str(trade_id), Decimal(str(price)), Decimal(str(amount)), None, traded_at
        )
    except (InvalidOperation, TypeError, ValueError, OverflowError):
        return None
    if not (value.price.is_finite() and value.amount.is_finite()) or trade_id in (None, ""):
        return None
    if side in ("buy", "sell"):
        return TradePrint(value.trade_id, value.price, value.amount, side, traded_at)
    return value if side is None else None


def trades(venue_id: str, prints: list[TradePrint | None], what: str) -> Trades | Malformed:
    if not prints or any(item is None for item in prints):
        return Malformed(f"{what} of {venue_id} with a trade that is not one")
    return Trades(venue_id, tuple(item for item in prints if item is not None))


# --- Binance ---------------------------------------------------------------------------------


def binance_subscribe(subscriptions: list[str]) -> list[dict[str, Any]]:
    """Binance's subscribe frame (``{"method": "SUBSCRIBE", "params": [...], "id": 1}``)."""
    return [{"method": "SUBSCRIBE", "params": subscriptions, "id": 1}] if subscriptions else []


def read_binance(message: Any) -> StreamItem | None:
    """Binance spot streams ("WebSocket Streams" docs): ``depthUpdate`` events, bookTicker
    frames (no ``"e"``), ``trade`` events ("Trade Streams": ``t`` id, ``p``/``q``, ``T`` time,
    ``m`` true when the buyer is the maker, so the seller was the aggressor), and answers to
    our SUBSCRIBE: ``{"result": null, "id": 1}``, or an error (docs "Error Messages":
    ``{"code": 2, "msg": "Invalid request: ...", "id": 1}``, which the server wraps as
    ``{"error": {"code": 2, "msg": ...}, "id": 1}``)."""
    if not isinstance(message, dict):
        return None
    if "id" in message and ({"result", "error", "code"} & message.keys()):
        request = f"request {message.get('id')}"
        error = message.get("error") or ({"code": message["code"]} if "code" in message else None)
        if isinstance(error, dict):
            return Refused(request, f"{error.get('code')}: {error.get('msg', message.get('msg'))}")
        if error:
            return Refused(request, str(error))
        return Subscribed(request)
    data = message.get("data", message)  # combined streams wrap the payload
    if not isinstance(data, dict) or not data.get("s"):
        return None
    venue_id = str(data["s"]).upper()
    if data.get("e") == "depthUpdate":
        return DepthUpdate(venue_id, data)
    if data.get("e") == "trade":
        maker = data.get("m")
        side = None if not isinstance(maker, bool) else ("sell" if maker else "buy")
        return trades(
            venue_id,
            [trade_print(data.get("t"), data.get("p"), data.get("q"), side, data.get("T"))],
            "trade event",
        )
    if {"b", "a", "B", "A"} <= data.keys():  # bookTicker has no "e"
        return quote(venue_id, data["b"], data["a"])
    return None
