"""Binance spot user-data stream, through the WebSocket API.

**Why not a listenKey.** The REST endpoints that create and keep alive a spot listenKey
(``POST``/``PUT /api/v3/userDataStream``) are deprecated in Binance's spot docs ("User data
stream endpoints (Deprecated)": "Please subscribe to the User Data Stream through the WebSocket
API instead"), and since late 2025 ``POST /api/v3/userDataStream`` answers ``410 Gone``. The
current way is the WebSocket API (``wss://ws-api.binance.com:443/ws-api/v3``, "User Data Stream
requests"): ``userDataStream.subscribe.signature`` signed with the API key's secret, in any
session, no ``session.logon`` (which needs an Ed25519 key). There is no listenKey to keep
alive, so no renewal timer: the subscription lives as long as the connection (at most 24 hours,
then Binance closes it and we reconnect and sign again). Binance ends a subscription with
``eventStreamTerminated``; we subscribe again on the same connection. ``listenKeyExpired``
belongs to the old streams and is handled the same way should it ever arrive.

**Frames** ("User Data Streams", WebSocket API form): responses ``{"id", "status",
"result"|"error"}``; events ``{"subscriptionId": 0, "event": {"e": "executionReport", ...}}``.
An ``executionReport`` carries the order's state after the change (``X`` status, ``z``
cumulative filled, ``Z`` cumulative quote) and, when ``x`` is ``TRADE``, one fill (``l``/``L``
last quantity/price, ``n``/``N`` its commission, ``t`` trade id, ``m`` maker). On a cancel,
``c`` is the cancel request's id and ``C`` the cancelled order's: ours is ``C``.

**Signature** ("Request security", SIGNED request example (HMAC)): the parameters sorted by
name as ``key=value`` pairs joined by ``&``, HMAC-SHA-256 with the secret key, hex.
"""

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from itertools import count
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from domains.exchange.adapters.ccxt_gateway import VenueCredentials
from domains.exchange.adapters.user_streams.common import (
    MalformedFrame,
    MarketLookup,
    Reading,
    Refusal,
    dec,
    ms_time,
    positive_or_none,
    text,
)
from domains.exchange.adapters.ws_client import text_json
from domains.exchange.api import (
    Fill,
    Liquidity,
    MarketInfo,
    OrderAck,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)

logger = logging.getLogger(__name__)

BINANCE_WS_API_URL = "wss://ws-api.binance.com:443/ws-api/v3"
SUBSCRIBE = "userDataStream.subscribe.signature"
# Binance error codes that mean "these credentials will not do" (errors.md): -1002 unauthorized,
# -1022 invalid signature, -2014 bad API key format, -2015 invalid key, IP or permissions.
# -1021 (timestamp outside recvWindow) is a clock problem: retried after a reconnect.
AUTH_ERRORS = frozenset({-1002, -1022, -2014, -2015})
CLOCK_ERROR = -1021
# Account events we do not use (balances come from REST).
IGNORED_EVENTS = frozenset(
    {"outboundAccountPosition", "balanceUpdate", "listStatus", "externalLockUpdate"}
)

_STATUS = {
    "NEW": OrderStatus.OPEN,
    "PENDING_NEW": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": OrderStatus.OPEN,  # unused by Binance today
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,  # self-trade prevention
}
_TYPES = {
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,  # post-only
    "MARKET": OrderType.MARKET,
    "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
    "TAKE_PROFIT_LIMIT": OrderType.STOP_LIMIT,
    "STOP_LOSS": OrderType.MARKET,  # stop-market: we place none, but show them as market
    "TAKE_PROFIT": OrderType.MARKET,
}
_TIME_IN_FORCE = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}


def sign(secret: str, params: Mapping[str, Any]) -> str:
    """HMAC-SHA-256 (hex) of the parameters sorted by name, ``key=value`` joined by ``&``."""
    payload = urlencode(sorted((key, str(value)) for key, value in params.items()))
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def subscribe_request(
    credentials: VenueCredentials, *, timestamp_ms: int, request_id: str
) -> dict[str, Any]:
    """``userDataStream.subscribe.signature`` for these credentials at ``timestamp_ms``."""
    params: dict[str, Any] = {"apiKey": credentials.api_key, "timestamp": timestamp_ms}
    params["signature"] = sign(credentials.secret, params)
    return {"id": request_id, "method": SUBSCRIBE, "params": params}


def execution_report(
    event: Mapping[str, Any], *, account_id: UUID, market: MarketInfo
) -> tuple[OrderAck, Fill | None]:
    """The order's state after an ``executionReport``, and the fill it reports (on ``TRADE``)."""
    execution = text(event.get("x"))
    raw_status = text(event.get("X"))
    if raw_status not in _STATUS:
        raise MalformedFrame(f"unknown order status {raw_status!r}")
    raw_type = text(event.get("o"))
    if raw_type not in _TYPES:
        raise MalformedFrame(f"unknown order type {raw_type!r}")
    order_type = _TYPES[raw_type]
    # On a cancel ``c`` is the cancel request's own id; the order's (ours) is ``C``.
    original = text(event.get("C"))
    client_order_id = original or text(event.get("c"))
    if not client_order_id:
        raise MalformedFrame("no client order id")
    side = _side(event.get("S"))
    amount = dec(event.get("q"), "q")
    filled = dec(event.get("z"), "z")
    quote_filled = dec(event.get("Z", "0"), "Z")
    if amount == 0:  # a market order sized in the quote currency (quoteOrderQty)
        amount = filled
    status = _STATUS[raw_status]
    if (
        status is OrderStatus.OPEN
        and order_type is OrderType.STOP_LIMIT
        and event.get("w") is False  # not on the book yet: waiting for its stop price
    ):
        status = OrderStatus.PENDING_TRIGGER
    post_only = raw_type == "LIMIT_MAKER"
    tif = TimeInForce.PO if post_only else _TIME_IN_FORCE.get(text(event.get("f")), TimeInForce.GTC)
    updated = ms_time(event.get("T", event.get("E")), "T")
    reason = text(event.get("r"))
    if reason == "NONE":
        reason = ""
    if not reason and status is OrderStatus.EXPIRED:
        reason = "self_trade_prevention" if raw_status == "EXPIRED_IN_MATCH" else "expired"
    venue_order_id = text(event.get("i")) or None
    ack = OrderAck(
        account_id=account_id,
        venue="binance",
        symbol=market.symbol,
        client_order_id=client_order_id,
        venue_order_id=venue_order_id,
        side=side,
        type=order_type,
        status=status,
        amount=amount,
        filled=filled,
        price=positive_or_none(event.get("p"), "p") if order_type is not OrderType.MARKET else None,
        stop_price=positive_or_none(event.get("P"), "P"),
        average_price=(quote_filled / filled) if filled > 0 else None,
        # An executionReport carries this execution's commission only, never the order's total:
        # the ledger sums the fills.
        fee=Decimal(0),
        fee_currency=None,
        time_in_force=tif,
        post_only=post_only,
        created_at=ms_time(event["O"], "O") if event.get("O") is not None else updated,
        updated_at=updated,
        reason=reason,
    )
    if execution != "TRADE":
        return ack, None
    trade_id = event.get("t")
    if trade_id is None or int(dec(trade_id, "t")) < 0:
        raise MalformedFrame("a TRADE execution without a trade id")
    fee_currency = event.get("N")
    fill = Fill(
        fill_id=str(trade_id),
        account_id=account_id,
        venue="binance",
        symbol=market.symbol,
        client_order_id=client_order_id,
        venue_order_id=venue_order_id,
        side=side,
        price=dec(event.get("L"), "L"),
        amount=dec(event.get("l"), "l"),
        fee=dec(event.get("n", "0"), "n"),
        fee_currency=str(fee_currency) if fee_currency else None,
        liquidity=Liquidity.MAKER if event.get("m") is True else Liquidity.TAKER,
        timestamp=updated,
    )
    return ack, fill


def _side(value: Any) -> OrderSide:
    try:
        return OrderSide(text(value).lower())
    except ValueError:
        raise MalformedFrame(f"unknown side {value!r}") from None


class BinanceUserStream:
    """The dialect of Binance's spot user-data stream for one account."""

    venue = "binance"
    default_url = BINANCE_WS_API_URL
    handshake_steps = 1
    # Binance pings every 20 s at the protocol level (answered by the client library), which
    # never reaches our idle timeout: a quiet account sends nothing. The WebSocket API's
    # ``ping`` request (weight 1) gives a frame back twice a minute.
    keepalive_interval: float | None = 30.0

    def __init__(
        self,
        *,
        account_id: UUID,
        markets: MarketLookup,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account_id = account_id
        self.markets = markets
        self.clock = clock
        self._ids = count(1)
        self.subscription_id: int | None = None

    def decode(self, raw: str | bytes) -> Any:
        return text_json(raw)

    def handshake(self, credentials: VenueCredentials, url: str) -> list[Any]:
        request_id = f"sub-{next(self._ids)}"
        timestamp = int(self.clock() * 1000)
        return [subscribe_request(credentials, timestamp_ms=timestamp, request_id=request_id)]

    def keepalive(self) -> Any | None:
        return {"id": f"ping-{next(self._ids)}", "method": "ping"}

    def read(self, message: Any) -> Reading:
        reading = Reading()
        if not isinstance(message, dict):
            reading.skipped.append("not a JSON object")
            return reading
        if "status" in message and "id" in message:
            self._response(message, reading)
            return reading
        event = message.get("event", message)  # WebSocket API wrapper, or a bare event
        if not isinstance(event, dict) or "e" not in event:
            reading.skipped.append("unrecognised frame")
            return reading
        kind = text(event["e"])
        if kind == "executionReport":
            self._execution(event, reading)
        elif kind in ("eventStreamTerminated", "listenKeyExpired"):
            reading.ended = kind
        elif kind not in IGNORED_EVENTS:
            reading.skipped.append(f"event {kind!r} not used")
        return reading

    def _response(self, message: dict[str, Any], reading: Reading) -> None:
        request_id = text(message.get("id"))
        status = message.get("status")
        if status == 200:
            if request_id.startswith("sub-"):
                result = message.get("result")
                if isinstance(result, dict):
                    self.subscription_id = result.get("subscriptionId")
                reading.confirmed = 1
            return
        error = message.get("error")
        if not isinstance(error, dict):
            error = {}
        code = error.get("code")
        refusal = Refusal(
            code=str(code if code is not None else status),
            message=text(error.get("msg")) or f"status {status}",
            auth=isinstance(code, int) and code in AUTH_ERRORS,
            clock=code == CLOCK_ERROR,
        )
        if request_id.startswith("sub-"):
            reading.refusal = refusal
        else:  # a refused keepalive ping (429?): the subscription itself is fine
            reading.skipped.append(f"request {request_id} refused: {refusal.message}")

    def _execution(self, event: dict[str, Any], reading: Reading) -> None:
        venue_id = event.get("s")
        market = self.markets(venue_id)
        if market is None:
            reading.unknown_symbols.add(text(venue_id))
            reading.skipped.append(f"unknown symbol {venue_id!r}")
            return
        try:
            ack, fill = execution_report(event, account_id=self.account_id, market=market)
        except (MalformedFrame, KeyError, TypeError, ValueError, ArithmeticError) as error:
            reading.skipped.append(f"malformed executionReport: {error}")
            return
        reading.updates.append(ack)
        if fill is not None:
            reading.updates.append(fill)
