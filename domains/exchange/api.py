"""The door of the exchange domain: ``ExchangeApi``, its DTOs, enums and errors.

One interface for every venue (Binance, Gate.io, HTX through ccxt, and the paper exchange).
Amounts, prices, fees and balances are ``Decimal``; candle values are floats (measurements).
Other domains call :func:`exchange_api` and never see a model or a ccxt object.

This module is a pure contract: no Django, no ORM, no I/O. Its type hints are the wire contract
of the remote binding, which is why it does not use ``from __future__ import annotations``.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from dsta.kernel import rpc
from dsta.kernel.errors import (
    Conflict,
    DstaError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    ServiceUnavailable,
)

# --- venues and client order ids -------------------------------------------------------------


class Venue(StrEnum):
    """Venues DSTA trades on. ``paper`` is the built-in simulated venue."""

    BINANCE = "binance"
    GATEIO = "gateio"
    HTX = "htx"
    PAPER = "paper"


@dataclass(frozen=True)
class ClientOrderIdRule:
    """What a venue accepts as a client order id (see shared/design/EXCHANGES.md)."""

    max_length: int
    pattern: re.Pattern[str]


# Binance: unique among open orders, keep <= 32 chars. Gate: ccxt adds "t-"; <= 28 chars after
# it from [0-9A-Za-z_.-]. HTX: <= 64 chars. Paper mirrors Binance's limit.
CLIENT_ORDER_ID_RULES: dict[str, ClientOrderIdRule] = {
    Venue.BINANCE.value: ClientOrderIdRule(32, re.compile(r"^[A-Za-z0-9_.:/-]{1,32}$")),
    Venue.GATEIO.value: ClientOrderIdRule(28, re.compile(r"^[0-9A-Za-z_.-]{1,28}$")),
    Venue.HTX.value: ClientOrderIdRule(64, re.compile(r"^[A-Za-z0-9_.-]{1,64}$")),
    Venue.PAPER.value: ClientOrderIdRule(32, re.compile(r"^[A-Za-z0-9_.:/-]{1,32}$")),
}
CLIENT_ORDER_ID_PREFIX = "dsta"


def new_client_order_id(venue: str) -> str:
    """A fresh client order id valid on ``venue``: ``dsta`` + random hex, within its limits.

    The id is our idempotency key: committed with the order intent before the request, and the
    handle to look the order up after a timeout. 96 random bits even on Gate's 28 characters.
    """
    rule = _rule_for(venue)
    random_hex_chars = min(rule.max_length, 32) - len(CLIENT_ORDER_ID_PREFIX)
    return CLIENT_ORDER_ID_PREFIX + secrets.token_hex(random_hex_chars // 2)


def validate_client_order_id(venue: str, client_order_id: str) -> str:
    """Return ``client_order_id`` when ``venue`` accepts it; raise ``InvalidOrder`` otherwise."""
    rule = _rule_for(venue)
    if not rule.pattern.fullmatch(client_order_id):
        raise InvalidOrder(
            f"client_order_id is not valid on {venue}",
            details={
                "field": "client_order_id",
                "max_length": rule.max_length,
                "pattern": rule.pattern.pattern,
            },
        )
    return client_order_id


def _rule_for(venue: str) -> ClientOrderIdRule:
    try:
        return CLIENT_ORDER_ID_RULES[venue]
    except KeyError:
        raise UnknownVenue(f"unknown venue {venue!r}", details={"venue": venue}) from None


# --- errors ----------------------------------------------------------------------------------


class ExchangeFailure(DstaError):
    """Base of the exchange domain's errors (no code of its own: catch it, never raise it)."""


class InvalidOrder(InvalidInput, ExchangeFailure):
    """The order request is malformed or not allowed (bad side/type, missing price...)."""

    code = "invalid_order"


class BelowMinimum(InvalidOrder):
    """Amount or notional is under the market's minimum; ``details`` names limit and value."""

    code = "below_minimum"


class InsufficientFunds(Conflict, ExchangeFailure):
    """The account's free balance does not cover the order."""

    code = "insufficient_funds"


class OrderNotFound(NotFound, ExchangeFailure):
    """No order with that id on that account."""

    code = "order_not_found"


class UnknownVenue(NotFound, ExchangeFailure):
    """The venue is not one DSTA supports."""

    code = "unknown_venue"


class UnknownSymbol(NotFound, ExchangeFailure):
    """The venue lists no market with that symbol."""

    code = "unknown_symbol"


class UnknownAccount(NotFound, ExchangeFailure):
    """No exchange account with that id."""

    code = "unknown_account"


class DuplicateOrder(Conflict, ExchangeFailure):
    """An order with that client order id exists already: fetch it instead of resending."""

    code = "duplicate_order"


class TradingHalted(Conflict):
    """The kill switch (config ``trading.kill_switch``) is on: no new order is sent anywhere,
    paper or live, whoever asks. Cancels still go through."""

    code = "trading_halted"


class VenueRateLimited(RateLimited, ExchangeFailure):
    """The venue throttled us; ``details.retry_after`` in seconds when it said so.

    Carries the kernel's ``rate_limited`` code (one code for every throttle): a remote caller
    receives the kernel's ``RateLimited``, so catch that.
    """


class VenueUnavailable(ServiceUnavailable, ExchangeFailure):
    """The venue did not answer, timed out, or is in maintenance."""

    code = "venue_unavailable"


class ClockSkew(ServiceUnavailable, ExchangeFailure):
    """The venue refused a signed request because its timestamp was too far from the venue's
    clock (Binance -1021, Gate.io ``REQUEST_EXPIRED``, HTX "invalid submission time"), and
    measuring the venue's clock again and retrying once did not help.

    The venue refused the request before processing it: nothing happened (an order was not
    placed), so this is not an unknown outcome and there is nothing to reconcile. It is not a
    ``VenueUnavailable`` for that reason: callers treat those as "maybe it happened; retry or
    look it up". Fix the host's clock (NTP); ``details.clock_offset_ms`` is our clock minus the
    venue's as last measured.
    """

    code = "clock_skew"


class AuthFailed(Forbidden, ExchangeFailure):
    """The venue refused the account's credentials (bad key, signature, permissions)."""

    code = "auth_failed"


# --- enums -----------------------------------------------------------------------------------


class MarketType(StrEnum):
    SPOT = "spot"
    SWAP = "swap"
    FUTURE = "future"
    OPTION = "option"


class PrecisionMode(StrEnum):
    """How a venue states precision (ccxt's ``precisionMode``)."""

    TICK_SIZE = "tick_size"  # precision is the step itself: 0.01
    DECIMAL_PLACES = "decimal_places"  # precision is a number of decimals: 2


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_LIMIT = "stop_limit"  # a limit order placed when the market reaches stop_price


class TimeInForce(StrEnum):
    GTC = "GTC"  # good till cancelled
    IOC = "IOC"  # immediate or cancel: fill what you can now, expire the rest
    FOK = "FOK"  # fill or kill: the whole amount now, or nothing
    PO = "PO"  # post only: rest on the book as maker, rejected if it would take


class OrderStatus(StrEnum):
    PENDING_TRIGGER = "pending_trigger"  # stop-limit waiting for its stop price
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"  # IOC/FOK/market remainder that could not fill
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        """No further fill or change can happen to an order in this status."""
        return self in _FINAL_STATUSES


_FINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED}
)


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


# --- market data DTOs ------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketInfo:
    """A market's trading rules on one venue.

    ``amount_precision``/``price_precision`` are stated in the venue's ``precision_mode``:
    a step (``0.001``) under TICK_SIZE, a number of decimals (``3``) under DECIMAL_PLACES.
    ``amount_step``/``price_tick`` give both as a step. ``min_notional`` is the minimum
    ``amount * price`` in the quote currency.
    """

    venue: str
    symbol: str  # ccxt unified: BTC/USDT, BTC/USDT:USDT
    venue_symbol: str  # the venue's own id: BTCUSDT, BTC_USDT, btcusdt
    base: str
    quote: str
    market_type: MarketType
    active: bool
    precision_mode: PrecisionMode
    amount_precision: Decimal
    price_precision: Decimal
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_notional: Decimal | None = None
    max_notional: Decimal | None = None
    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None

    @property
    def amount_step(self) -> Decimal:
        """The lot size: the smallest amount increment."""
        return _as_step(self.precision_mode, self.amount_precision)

    @property
    def price_tick(self) -> Decimal:
        """The smallest price increment."""
        return _as_step(self.precision_mode, self.price_precision)


def _as_step(mode: PrecisionMode, precision: Decimal) -> Decimal:
    if mode is PrecisionMode.DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(precision))
    return precision


@dataclass(frozen=True)
class Ticker:
    """Best bid/ask and last price of a market; fields a venue does not give are None."""

    venue: str
    symbol: str
    timestamp: datetime
    bid: Decimal | None = None
    ask: Decimal | None = None
    last: Decimal | None = None
    bid_amount: Decimal | None = None
    ask_amount: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    base_volume: Decimal | None = None
    quote_volume: Decimal | None = None


@dataclass(frozen=True)
class BookLevel:
    price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class OrderBook:
    """An L2 snapshot: bids best (highest) first, asks best (lowest) first."""

    venue: str
    symbol: str
    timestamp: datetime
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    sequence: int | None = None  # the venue's update id / nonce when it gives one


@dataclass(frozen=True)
class Candle:
    """One OHLCV bar; ``open_time`` is the bar's start (UTC). Values are measurements: floats."""

    open_time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float  # in the base currency


@dataclass(frozen=True)
class PublicTrade:
    """One print on a market's public tape. ``side`` is the aggressor's (the taker's) side,
    None where the venue does not say. No account is named: it is everyone's trade."""

    venue: str
    symbol: str
    trade_id: str
    price: Decimal
    amount: Decimal  # in the base currency
    side: OrderSide | None
    timestamp: datetime


# --- account and order DTOs ------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    asset: str
    free: Decimal
    locked: Decimal  # reserved by open orders

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(frozen=True)
class AccountBalances:
    account_id: UUID
    venue: str
    timestamp: datetime
    balances: tuple[Balance, ...]

    def of(self, asset: str) -> Balance:
        """The balance of ``asset`` (zero when the account never held it)."""
        for balance in self.balances:
            if balance.asset == asset:
                return balance
        return Balance(asset=asset, free=Decimal(0), locked=Decimal(0))


@dataclass(frozen=True)
class OrderRequest:
    """What a caller asks to place. Validated on construction; raises ``InvalidOrder``.

    ``time_in_force=PO`` and ``post_only=True`` mean the same and are normalised to both.
    ``client_order_id`` is generated by the gateway (:func:`new_client_order_id`) when omitted.
    """

    symbol: str
    side: OrderSide
    type: OrderType
    amount: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    client_order_id: str | None = None

    def __post_init__(self) -> None:
        # Coerce plain strings (from JSON or a form) into the enums, with a clear error.
        for name, enum in (
            ("side", OrderSide),
            ("type", OrderType),
            ("time_in_force", TimeInForce),
        ):
            value = getattr(self, name)
            if not isinstance(value, enum):
                try:
                    object.__setattr__(self, name, enum(value))
                except ValueError:
                    allowed = [member.value for member in enum]
                    raise InvalidOrder(
                        f"{name} must be one of {allowed}",
                        details={"field": name, "value": str(value), "allowed": allowed},
                    ) from None
        for name in ("amount", "price", "stop_price"):
            _require_positive_decimal(name, getattr(self, name), required=name == "amount")
        if self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and self.price is None:
            raise InvalidOrder(
                f"a {self.type.value} order needs a price", details={"field": "price"}
            )
        if self.type is OrderType.STOP_LIMIT and self.stop_price is None:
            raise InvalidOrder(
                "a stop_limit order needs a stop_price", details={"field": "stop_price"}
            )
        if self.type is not OrderType.STOP_LIMIT and self.stop_price is not None:
            raise InvalidOrder(
                "stop_price applies to stop_limit orders only", details={"field": "stop_price"}
            )
        if self.time_in_force is TimeInForce.PO:
            object.__setattr__(self, "post_only", True)
        elif self.post_only:
            if self.time_in_force is not TimeInForce.GTC:
                raise InvalidOrder(
                    "post_only cannot be combined with IOC/FOK", details={"field": "post_only"}
                )
            object.__setattr__(self, "time_in_force", TimeInForce.PO)
        if self.type is OrderType.MARKET:
            if self.post_only:
                raise InvalidOrder(
                    "a market order cannot be post-only", details={"field": "post_only"}
                )
            if self.price is not None:
                raise InvalidOrder("a market order takes no price", details={"field": "price"})


def _require_positive_decimal(name: str, value: object, *, required: bool) -> None:
    if value is None:
        if required:
            raise InvalidOrder(f"{name} is required", details={"field": name})
        return
    if not isinstance(value, Decimal) or isinstance(value, bool):
        raise InvalidOrder(
            f"{name} must be a Decimal", details={"field": name, "value": str(value)}
        )
    if not value.is_finite() or value <= 0:
        raise InvalidOrder(
            f"{name} must be a positive finite number", details={"field": name, "value": str(value)}
        )


@dataclass(frozen=True)
class OrderAck:
    """The venue's view of an order: its state after placement, a lookup or a cancel."""

    account_id: UUID
    venue: str
    symbol: str
    client_order_id: str
    venue_order_id: str | None
    side: OrderSide
    type: OrderType
    status: OrderStatus
    amount: Decimal
    filled: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    average_price: Decimal | None = None
    fee: Decimal = Decimal(0)
    fee_currency: str | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    reason: str = ""  # why it was rejected/expired/cancelled, when the venue said

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled


@dataclass(frozen=True)
class Fill:
    """One execution of an order (a "trade" in ccxt): fee charged exactly once, per fill."""

    fill_id: str
    account_id: UUID
    venue: str
    symbol: str
    client_order_id: str | None  # None where the venue's trade list does not carry it
    venue_order_id: str | None
    side: OrderSide
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str | None
    liquidity: Liquidity | None  # None where the venue does not say
    timestamp: datetime

    @property
    def notional(self) -> Decimal:
        return self.price * self.amount


@dataclass(frozen=True)
class CancelFailure:
    """An order a batch cancel could not cancel, with the error code that says why."""

    client_order_id: str
    code: str
    message: str


@dataclass(frozen=True)
class CancelResult:
    """Outcome of a batch cancel: the orders cancelled and those that could not be."""

    canceled: tuple[OrderAck, ...] = ()
    failed: tuple[CancelFailure, ...] = ()


@dataclass(frozen=True)
class RateLimitUsage:
    """One rate limit of a venue and how much of its burst is spent now."""

    bucket: str  # "request_weight", "orders"
    scope: str  # "venue" (shared by every process) or "credential" (per account)
    unit: str  # the venue's unit: "Binance request weight", "orders", "requests"
    limit: float  # units per period
    period_seconds: float
    in_use: float  # units of the burst spent (venue scope; 0 for credential scope here)


@dataclass(frozen=True)
class VenueStatus:
    """Connection health of a venue: its breaker (shared), and this process's view of its
    requests (last success/error, latency) and of its stream."""

    venue: str
    enabled: bool
    state: str  # "up", "degraded" (errors lately), "down" (breaker open), "unknown" (no calls yet)
    breaker: str  # "closed", "open" or "half_open"
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str = ""
    latency_ewma_ms: float | None = None
    active_host: str | None = None
    websocket: str | None = None  # "up", "down", or None when no stream was opened
    limiter_backend: str = "local"  # "redis" (shared) or "local"
    rate_limits: tuple[RateLimitUsage, ...] = ()
    # Our clock minus the venue's in ms (positive: ours is ahead), as last measured; signed
    # requests are stamped with it. None until measured (or where the venue has no time call).
    clock_offset_ms: int | None = None


# --- the interface ---------------------------------------------------------------------------


@rpc.service("exchange.gateway")
class ExchangeApi(Protocol):
    """Market data and order management on every venue DSTA supports.

    Market-data methods name a ``venue``; account methods name an exchange ``account_id``
    (paper or live), which fixes the venue. Every order carries a client order id of ours.
    """

    def markets(self, *, venue: str) -> list[MarketInfo]:
        """Every market of ``venue`` with its precision, lot size and minimums."""
        ...

    def ticker(self, *, venue: str, symbol: str) -> Ticker:
        """Best bid/ask and last price of ``symbol`` on ``venue``."""
        ...

    def order_book(self, *, venue: str, symbol: str, depth: int | None = None) -> OrderBook:
        """An L2 snapshot of ``symbol``, at most ``depth`` levels a side when given."""
        ...

    def ohlcv(
        self,
        *,
        venue: str,
        symbol: str,
        timeframe: str,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Candle]:
        """Candles of ``symbol`` from ``since`` (oldest first), at most ``limit`` of them."""
        ...

    def trades(self, *, venue: str, symbol: str, limit: int | None = None) -> list[PublicTrade]:
        """The latest ``limit`` (1-1000, default 100) public trades of ``symbol``, oldest
        first. On the paper venue the tape is its fills, of every account, none named."""
        ...

    def balances(self, *, account_id: UUID) -> AccountBalances:
        """Free and locked balance of every asset the account holds."""
        ...

    def place_order(self, *, account_id: UUID, request: OrderRequest) -> OrderAck:
        """Round amount/price to the market's precision, check minimums, then place the order.

        Raises ``BelowMinimum`` before any request when the rounded order is under the venue's
        minimum amount or notional, ``InsufficientFunds`` when the account cannot cover it.
        """
        ...

    def get_order(
        self,
        *,
        account_id: UUID,
        symbol: str,
        client_order_id: str,
        venue_order_id: str | None = None,
    ) -> OrderAck:
        """The current state of an order, looked up by our client order id, or by the venue's
        id when given: venues find an order by its client id only for a while (Gate.io: while
        open and about a minute after it ends), by their own id for good."""
        ...

    def cancel_order(self, *, account_id: UUID, symbol: str, client_order_id: str) -> OrderAck:
        """Cancel one order; returns its final state (cancelling a final order is a no-op)."""
        ...

    def cancel_orders(
        self,
        *,
        account_id: UUID,
        symbol: str | None = None,
        client_order_ids: list[str] | None = None,
    ) -> CancelResult:
        """Cancel the listed orders, or every open order (of ``symbol`` when given)."""
        ...

    def open_orders(self, *, account_id: UUID, symbol: str | None = None) -> list[OrderAck]:
        """Orders still working (open, partially filled or waiting for a trigger)."""
        ...

    def my_trades(
        self,
        *,
        account_id: UUID,
        symbol: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Fill]:
        """The account's fills, oldest first."""
        ...

    def order_fills(self, *, account_id: UUID, symbol: str, venue_order_id: str) -> list[Fill]:
        """Every fill of one order, by the venue's order id, oldest first. Unlike
        ``my_trades`` it has no time window (Binance answers trade lists 24 hours at a time):
        the reconciler completes an order's fills with it."""
        ...

    def venue_status(self, *, venue: str) -> VenueStatus:
        """Health of ``venue``: breaker state, last success/error, latency, rate-limit use."""
        ...


def exchange_api() -> ExchangeApi:
    """The exchange gateway for this process: in-process, or the remote client when the
    exchange domain runs elsewhere (``DSTA_REMOTE_EXCHANGE_URL``)."""
    return rpc.resolve(ExchangeApi)
