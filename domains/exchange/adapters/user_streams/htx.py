"""HTX (Huobi) spot user-data stream: Websocket Asset and Order v2 (``wss://api.huobi.pro/ws/v2``).

**Authentication** (spot API docs, "Signature Method" and "Websocket Asset and Order v2 →
Authentication"): ``{"action": "req", "ch": "auth", "params": {"authType": "api",
"accessKey", "signatureMethod": "HmacSHA256", "signatureVersion": "2.1", "timestamp":
"YYYY-MM-DDThh:mm:ss" (UTC), "signature"}}``. The signature is ``base64(HMAC-SHA256(secret,
"GET\\n<host>\\n/ws/v2\\n<query>"))`` where ``<query>`` is accessKey, signatureMethod,
signatureVersion and timestamp sorted by name and URL-encoded (``:`` → ``%3A``). Success is
``{"action": "req", "code": 200, "ch": "auth"}``; a refusal carries code 2002 (``auth.fail``,
``invalid.auth.state``) or 2000 (``invalid.ip``). Subscriptions are sent only once the
authentication is confirmed (a ``sub`` before it is refused with ``invalid.auth.state``).

**Topics**: ``orders#*`` ("Subscribe Order Updates": creation, trade, cancellation, and for
conditional orders trigger/deletion) gives the order's state; ``trade.clearing#*#0`` ("Trade
Details after Clearing", mode 0: trades only) gives each fill with ``transactFee`` and
``feeCurrency``. Our client order id is ``clientOrderId``.

**Heartbeat**: the server sends ``{"action": "ping", "data": {"ts"}}`` every 20 s and expects
``{"action": "pong", "data": {"ts"}}`` with the same number. The v2 endpoint sends plain JSON
text (its docs: "Message Compression: None", unlike the gzip-compressed market endpoint); the
stream decodes with ``gzip_json``, which reads a text frame as JSON and gunzips a binary one,
so either form is accepted.
"""

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode, urlparse
from uuid import UUID

from domains.exchange.adapters.ccxt_gateway import VenueCredentials
from domains.exchange.adapters.user_streams.common import (
    MalformedFrame,
    MarketLookup,
    Reading,
    Refusal,
    currency,
    dec,
    dec_or_none,
    ms_time,
    positive_or_none,
    text,
)
from domains.exchange.adapters.ws_client import gzip_json
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

HTX_WS_URL = "wss://api.huobi.pro/ws/v2"
ORDERS_TOPIC = "orders#*"
TRADES_TOPIC = "trade.clearing#*#0"
TOPICS = (ORDERS_TOPIC, TRADES_TOPIC)
# 2000 invalid.ip, 2002 auth.fail / invalid.auth.state (error codes of the v2 websocket).
AUTH_ERRORS = frozenset({2000, 2002})

# ``type`` after its side: "buy-limit-maker" → ("limit-maker").
_TYPES: dict[str, tuple[OrderType, TimeInForce]] = {
    "limit": (OrderType.LIMIT, TimeInForce.GTC),
    "market": (OrderType.MARKET, TimeInForce.GTC),
    "limit-maker": (OrderType.LIMIT, TimeInForce.PO),
    "ioc": (OrderType.LIMIT, TimeInForce.IOC),
    "limit-fok": (OrderType.LIMIT, TimeInForce.FOK),
    "stop-limit": (OrderType.STOP_LIMIT, TimeInForce.GTC),
    "stop-limit-fok": (OrderType.STOP_LIMIT, TimeInForce.FOK),
}
_STATUS = {
    "submitted": OrderStatus.OPEN,
    "partial-filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "partial-canceled": OrderStatus.CANCELED,
}


def timestamp_of(seconds: float) -> str:
    """HTX's signature timestamp: UTC, ``YYYY-MM-DDThh:mm:ss``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def presigned_text(*, host: str, path: str, params: Mapping[str, str]) -> str:
    """The text HTX signs: method, host, path and the sorted, URL-encoded parameters."""
    # URL-encoded with ``%20`` for a space and uppercase hex, as the docs ask (``:`` → ``%3A``).
    query = urlencode(sorted(params.items()), quote_via=quote)
    return f"GET\n{host}\n{path}\n{query}"


def sign(secret: str, presigned: str) -> str:
    digest = hmac.new(secret.encode(), presigned.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def auth_request(credentials: VenueCredentials, *, url: str, timestamp: str) -> dict[str, Any]:
    """The v2 ``auth`` request (signature version 2.1) for a connection to ``url``."""
    target = urlparse(url)
    params = {
        "accessKey": credentials.api_key,
        "signatureMethod": "HmacSHA256",
        "signatureVersion": "2.1",
        "timestamp": timestamp,
    }
    presigned = presigned_text(host=target.hostname or "", path=target.path or "/", params=params)
    return {
        "action": "req",
        "ch": "auth",
        "params": {"authType": "api", **params, "signature": sign(credentials.secret, presigned)},
    }


def order_state(
    data: Mapping[str, Any], *, account_id: UUID, market: MarketInfo
) -> OrderAck | None:
    """The order's state from an ``orders#`` push; None when the event does not carry it
    (conditional-order trigger/deletion, or a market buy whose size is a quote value)."""
    event = text(data.get("eventType"))
    if event not in ("creation", "trade", "cancellation"):
        return None
    raw_type = text(data.get("type"))
    side_text, _, kind = raw_type.partition("-")
    if kind not in _TYPES:
        raise MalformedFrame(f"unknown order type {raw_type!r}")
    order_type, tif = _TYPES[kind]
    side = _side(side_text)
    if order_type is OrderType.MARKET and side is OrderSide.BUY:
        # Sized in the quote currency (orderValue); execAmt/remainAmt are quote too.
        return None
    raw_status = text(data.get("orderStatus"))
    if raw_status not in _STATUS:
        raise MalformedFrame(f"unknown order status {raw_status!r}")
    amount = dec(data.get("orderSize"), "orderSize")
    filled = dec(data.get("execAmt", "0"), "execAmt")
    status = _STATUS[raw_status]
    if status is OrderStatus.OPEN and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    when = data.get("tradeTime") or data.get("lastActTime") or data.get("orderCreateTime")
    updated = ms_time(when, "time")
    created = data.get("orderCreateTime")
    return OrderAck(
        account_id=account_id,
        venue="htx",
        symbol=market.symbol,
        client_order_id=text(data.get("clientOrderId")),
        venue_order_id=text(data.get("orderId")) or None,
        side=side,
        type=order_type,
        status=status,
        amount=amount,
        filled=filled,
        price=None
        if order_type is OrderType.MARKET
        else positive_or_none(data.get("orderPrice"), "orderPrice"),
        # Order events carry no fee: the ledger sums the fills (trade.clearing).
        fee=Decimal(0),
        fee_currency=None,
        time_in_force=tif,
        post_only=tif is TimeInForce.PO,
        created_at=ms_time(created, "orderCreateTime") if created else updated,
        updated_at=updated,
        reason=text(data.get("canceledSourceDesc")) if status is OrderStatus.CANCELED else "",
    )


def trade_fill(data: Mapping[str, Any], *, account_id: UUID, market: MarketInfo) -> Fill:
    """One fill from a ``trade.clearing#`` push, with its fee."""
    trade_id = data.get("tradeId")
    if trade_id in (None, ""):
        raise MalformedFrame("a trade without tradeId")
    fee = dec(data.get("transactFee", "0"), "transactFee")
    fee_currency = currency(data.get("feeCurrency"), market)
    deducted = dec_or_none(data.get("feeDeduct"), "feeDeduct")
    if fee == 0 and deducted:  # paid in HT or points ("feeDeductType")
        fee, fee_currency = deducted, text(data.get("feeDeductType")).upper() or None
    aggressor = data.get("aggressor")
    cid = text(data.get("clientOrderId"))
    return Fill(
        fill_id=str(trade_id),
        account_id=account_id,
        venue="htx",
        symbol=market.symbol,
        client_order_id=cid or None,
        venue_order_id=text(data.get("orderId")) or None,
        side=_side(data.get("orderSide")),
        price=dec(data.get("tradePrice"), "tradePrice"),
        amount=dec(data.get("tradeVolume"), "tradeVolume"),
        fee=fee,
        fee_currency=fee_currency,
        liquidity=None
        if not isinstance(aggressor, bool)
        else (Liquidity.TAKER if aggressor else Liquidity.MAKER),
        timestamp=ms_time(data.get("tradeTime"), "tradeTime"),
    )


def _side(value: Any) -> OrderSide:
    try:
        return OrderSide(text(value).lower())
    except ValueError:
        raise MalformedFrame(f"unknown side {value!r}") from None


class HtxUserStream:
    """The dialect of HTX's v2 asset-and-order stream for one account."""

    venue = "htx"
    default_url = HTX_WS_URL
    handshake_steps = 1 + len(TOPICS)  # auth, then each subscription
    keepalive_interval: float | None = None  # the server pings every 20 s

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

    def decode(self, raw: str | bytes) -> Any:
        return gzip_json(raw)

    def handshake(self, credentials: VenueCredentials, url: str) -> list[Any]:
        return [auth_request(credentials, url=url, timestamp=timestamp_of(self.clock()))]

    def keepalive(self) -> Any | None:
        return None

    def read(self, message: Any) -> Reading:
        reading = Reading()
        if not isinstance(message, dict):
            reading.skipped.append("not a JSON object")
            return reading
        action = text(message.get("action"))
        channel = text(message.get("ch"))
        if action == "ping":
            data = message.get("data")
            ts = data.get("ts") if isinstance(data, dict) else None
            reading.replies.append({"action": "pong", "data": {"ts": ts}})
        elif action in ("req", "sub"):
            self._answer(action, channel, message, reading)
        elif action == "push":
            self._push(channel, message.get("data"), reading)
        else:
            reading.skipped.append(f"unrecognised frame (action {action!r})")
        return reading

    def _answer(self, action: str, channel: str, message: dict[str, Any], reading: Reading) -> None:
        code = message.get("code")
        if code == 200:
            reading.confirmed = 1
            if action == "req" and channel == "auth":
                reading.replies.extend({"action": "sub", "ch": topic} for topic in TOPICS)
            return
        reading.refusal = Refusal(
            code=str(code),
            message=text(message.get("message")) or f"{action} {channel} refused",
            auth=isinstance(code, int) and code in AUTH_ERRORS,
        )

    def _push(self, channel: str, data: Any, reading: Reading) -> None:
        if not isinstance(data, dict):
            reading.skipped.append(f"{channel}: push without data")
            return
        venue_id = data.get("symbol")
        market = self.markets(venue_id)
        if market is None:
            reading.unknown_symbols.add(text(venue_id))
            reading.skipped.append(f"unknown symbol {venue_id!r}")
            return
        try:
            if channel.startswith("orders#"):
                ack = order_state(data, account_id=self.account_id, market=market)
                if ack is None:
                    reading.needs_reconcile = True
                    reading.skipped.append(f"{data.get('eventType')} event without order state")
                else:
                    reading.updates.append(ack)
            elif channel.startswith("trade.clearing#"):
                event = data.get("eventType")
                if event == "trade":
                    reading.updates.append(
                        trade_fill(data, account_id=self.account_id, market=market)
                    )
                elif event != "cancellation":  # (mode 1 only; orders# reports cancels)
                    reading.skipped.append(f"clearing event {event!r} not used")
            else:
                reading.skipped.append(f"push on {channel!r} not used")
        except (MalformedFrame, KeyError, TypeError, ValueError, ArithmeticError) as problem:
            reading.skipped.append(f"malformed {channel} push: {problem}")
