"""What every venue's private (user-data) stream dialect shares: the reading of one frame,
refusals, the market index, and small parsing helpers.

A dialect is pure: it builds the frames to send (handshake, keepalive, replies) and turns each
frame the venue sends into a :class:`Reading` (order states, fills, handshake confirmations, a
refusal, the end of a subscription). It does no I/O; ``services/user_streams.py`` runs it on a
``ReconnectingStream`` and feeds the order ledger.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from domains.exchange.adapters.ccxt_gateway import VenueCredentials
from domains.exchange.api import Fill, MarketInfo, MarketType, OrderAck

Update = OrderAck | Fill


class MalformedFrame(ValueError):
    """A venue frame (or one item of it) lacks a field we need or holds a value we cannot read."""


@dataclass(frozen=True)
class Refusal:
    """The venue refused a request of ours (authentication or a subscription)."""

    code: str
    message: str
    auth: bool  # the credentials were refused: reconnecting will not help
    clock: bool = False  # our timestamp was refused: measure the venue's clock, then sign again


@dataclass
class Reading:
    """What one frame from the venue means for us."""

    updates: list[Update] = field(default_factory=list)  # in the frame's order
    confirmed: int = 0  # handshake steps (authentication, subscriptions) the venue confirmed
    refusal: Refusal | None = None
    replies: list[Any] = field(default_factory=list)  # frames to send back now (pong, subscribe)
    ended: str | None = None  # the venue ended our subscription: do the handshake again
    skipped: list[str] = field(default_factory=list)  # why (parts of) the frame were dropped
    unknown_symbols: set[str] = field(default_factory=set)  # venue ids we have no market for
    needs_reconcile: bool = False  # an event without the full order state: look it up


class MarketIndex:
    """Spot markets of one venue by the venue's own id (case-insensitive): ``BTCUSDT``,
    ``BTC_USDT``, ``btcusdt``. Spot only: Binance's swap ``BTC/USDT:USDT`` has the same id as
    its spot market, and the user-data streams here are the spot ones."""

    def __init__(self, markets: Iterable[MarketInfo] = ()) -> None:
        self._by_id = {
            m.venue_symbol.upper(): m for m in markets if m.market_type is MarketType.SPOT
        }

    def get(self, venue_id: object) -> MarketInfo | None:
        return self._by_id.get(str(venue_id).upper()) if venue_id is not None else None

    def __len__(self) -> int:
        return len(self._by_id)


MarketLookup = Callable[[object], MarketInfo | None]


class UserStreamDialect(Protocol):
    """One venue's private stream, for one account."""

    venue: str
    default_url: str
    handshake_steps: int  # confirmations that make a connection ready (see ``Reading.confirmed``)
    keepalive_interval: float | None  # seconds between keepalive frames; None: the venue pings

    def decode(self, raw: str | bytes) -> Any:
        """A raw frame as a message; ``ValueError`` when it cannot be read."""
        ...

    def handshake(self, credentials: VenueCredentials, url: str) -> list[Any]:
        """Frames that authenticate and subscribe on a new connection (signed now)."""
        ...

    def keepalive(self) -> Any | None:
        """An application-level ping, or None."""
        ...

    def read(self, message: Any) -> Reading:
        """What a decoded frame means; never raises on a malformed frame."""
        ...


# --- parsing helpers ---------------------------------------------------------------------------


def dec(value: Any, name: str) -> Decimal:
    """A venue number (string or number) as a Decimal; ``MalformedFrame`` when missing/bad."""
    if value is None or value == "" or isinstance(value, bool):
        raise MalformedFrame(f"{name} is missing")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise MalformedFrame(f"{name} is not a number: {value!r}") from None
    if not number.is_finite():
        raise MalformedFrame(f"{name} is not finite: {value!r}")
    return number


def dec_or_none(value: Any, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    return dec(value, name)


def positive_or_none(value: Any, name: str) -> Decimal | None:
    """A price-like field where the venue writes ``0`` for "none"."""
    number = dec_or_none(value, name)
    return number if number is not None and number > 0 else None


def ms_time(value: Any, name: str) -> datetime:
    """Epoch milliseconds (int, or a string, possibly with a fraction: Gate's ``"…123.456"``)."""
    try:
        return datetime.fromtimestamp(float(dec(value, name)) / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedFrame(f"{name} is not a time: {value!r}") from None


def text(value: Any) -> str:
    return "" if value is None else str(value)


def currency(code: Any, market: MarketInfo) -> str | None:
    """A venue's currency code in the market's unified spelling (HTX writes ``btc``)."""
    if code in (None, ""):
        return None
    upper = str(code).upper()
    for unified in (market.base, market.quote):
        if unified.upper() == upper:
            return unified
    return upper
