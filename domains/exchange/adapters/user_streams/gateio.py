"""Gate.io spot user-data stream (Spot WebSocket v4, ``wss://api.gateio.ws/ws/v4/``).

**Subscription** ("API Overview", "Authentication"): each private channel is subscribed with
``{"time", "id", "channel", "event": "subscribe", "payload", "auth": {"method": "api_key",
"KEY", "SIGN"}}`` where ``SIGN = hex(HMAC-SHA512(secret, "channel=<channel>&event=<event>&
time=<time>"))`` and ``time`` (seconds) is within 60 s of the server's. We subscribe
``spot.orders`` and ``spot.usertrades`` for every pair (payload ``["!all"]``). The answer has
``error: null`` and ``result: {"status": "success"}``, or an ``error`` (code 4: authentication
failed).

**Frames**: ``spot.orders`` ("Orders Channel") pushes the order's full state after each
change (``event`` put/update/finish, ``left``, ``filled_total``, cumulative ``fee``,
``finish_as``); ``spot.usertrades`` ("User Trades Channel") pushes one item per trade with its
``fee`` and ``role``. Our client order id is ``text`` with the ``t-`` prefix ccxt adds.

**Keepalive** ("Application ping pong"): ``spot.ping`` → ``spot.pong``; it also resets the
server's timeout timer, and gives a quiet account a frame for our idle timeout.
"""

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from itertools import count
from typing import Any
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

GATE_WS_URL = "wss://api.gateio.ws/ws/v4/"
ORDERS = "spot.orders"
TRADES = "spot.usertrades"
CHANNELS = (ORDERS, TRADES)
CLIENT_ID_PREFIX = "t-"  # ccxt puts our id in ``text`` as "t-<id>"
AUTH_ERROR = 4  # "Authentication fail"

_TIME_IN_FORCE = {
    "gtc": TimeInForce.GTC,
    "ioc": TimeInForce.IOC,
    "poc": TimeInForce.PO,
    "fok": TimeInForce.FOK,
}
# ``finish_as`` of a finished order that did not fill completely (Orders Channel).
_FINISHED = {
    "cancelled": OrderStatus.CANCELED,
    "stp": OrderStatus.CANCELED,
    "liquidate_cancelled": OrderStatus.CANCELED,
    "ioc": OrderStatus.EXPIRED,
    "fok": OrderStatus.EXPIRED,
    "depth_not_enough": OrderStatus.EXPIRED,
    "trader_not_enough": OrderStatus.EXPIRED,
    "small": OrderStatus.EXPIRED,
    "poc": OrderStatus.REJECTED,  # a post-only order that would have taken
}


def sign(secret: str, *, channel: str, event: str, timestamp: int) -> str:
    """Gate's websocket signature: ``hex(HMAC-SHA512(secret, channel=…&event=…&time=…))``."""
    payload = f"channel={channel}&event={event}&time={timestamp}"
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha512).hexdigest()


def subscribe_request(
    credentials: VenueCredentials, *, channel: str, timestamp: int, request_id: int
) -> dict[str, Any]:
    event = "subscribe"
    return {
        "time": timestamp,
        "id": request_id,
        "channel": channel,
        "event": event,
        "payload": ["!all"],
        "auth": {
            "method": "api_key",
            "KEY": credentials.api_key,
            "SIGN": sign(credentials.secret, channel=channel, event=event, timestamp=timestamp),
        },
    }


def client_order_id(raw: Any) -> str:
    value = text(raw)
    return value[len(CLIENT_ID_PREFIX) :] if value.startswith(CLIENT_ID_PREFIX) else value


def order_state(item: Mapping[str, Any], *, account_id: UUID, market: MarketInfo) -> OrderAck:
    """The order's state from one ``spot.orders`` item."""
    side = _side(item.get("side"))
    is_market = text(item.get("type")) == "market"
    order_type = OrderType.MARKET if is_market else OrderType.LIMIT
    amount = dec(item.get("amount"), "amount")
    left = dec(item.get("left"), "left")
    average = positive_or_none(item.get("avg_deal_price"), "avg_deal_price")
    event = text(item.get("event"))
    finish_as = text(item.get("finish_as"))
    if is_market and side is OrderSide.BUY:
        # A market buy is sized in the quote currency: ``amount`` and ``left`` are quote.
        filled_amount = dec_or_none(item.get("filled_amount"), "filled_amount")
        if filled_amount is None:
            filled_total = dec(item.get("filled_total", "0"), "filled_total")
            filled_amount = filled_total / average if average else Decimal(0)
        filled = filled_amount
        amount = filled if event == "finish" else filled + (left / average if average else 0)
    else:
        filled = amount - left
    if event == "finish":
        if finish_as == "filled" or (finish_as in ("", "-", "open") and left == 0):
            status = OrderStatus.FILLED
        else:
            status = _FINISHED.get(finish_as, OrderStatus.CANCELED)
    elif event in ("put", "update"):
        status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
    else:
        raise MalformedFrame(f"unknown order event {event!r}")
    tif = _TIME_IN_FORCE.get(text(item.get("time_in_force")), TimeInForce.GTC)
    created = ms_time(item.get("create_time_ms"), "create_time_ms")
    reason = ""
    if status in (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED):
        reason = "post_only_would_cross" if finish_as == "poc" else finish_as
    return OrderAck(
        account_id=account_id,
        venue="gateio",
        symbol=market.symbol,
        client_order_id=client_order_id(item.get("text")),
        venue_order_id=text(item.get("id")) or None,
        side=side,
        type=order_type,
        status=status,
        amount=amount,
        filled=filled,
        price=None if is_market else positive_or_none(item.get("price"), "price"),
        average_price=average,
        fee=dec(item.get("fee", "0"), "fee"),  # cumulative for the order
        fee_currency=currency(item.get("fee_currency"), market),
        time_in_force=tif,
        post_only=tif is TimeInForce.PO,
        created_at=created,
        updated_at=ms_time(item.get("update_time_ms") or item.get("create_time_ms"), "update"),
        reason=reason,
    )


def trade_fill(item: Mapping[str, Any], *, account_id: UUID, market: MarketInfo) -> Fill:
    """One of our trades from a ``spot.usertrades`` item, with its fee."""
    trade_id = item.get("id")
    if trade_id in (None, ""):
        raise MalformedFrame("a trade without id")
    side = _side(item.get("side"))
    fee = dec(item.get("fee", "0"), "fee")
    fee_currency = currency(item.get("fee_currency"), market)
    if fee == 0:
        # Paid in GT or points instead (``gt_fee``/``point_fee``).
        for field_name, code in (("gt_fee", "GT"), ("point_fee", "POINT")):
            deducted = dec_or_none(item.get(field_name), field_name)
            if deducted:
                fee, fee_currency = deducted, code
                break
    if fee_currency is None and fee:
        # The notification example omits ``fee_currency``: Gate charges spot fees in the
        # currency received, the base for a buy and the quote for a sell.
        fee_currency = market.base if side is OrderSide.BUY else market.quote
    role = text(item.get("role"))
    cid = client_order_id(item.get("text"))
    return Fill(
        fill_id=str(trade_id),
        account_id=account_id,
        venue="gateio",
        symbol=market.symbol,
        client_order_id=cid or None,
        venue_order_id=text(item.get("order_id")) or None,
        side=side,
        price=dec(item.get("price"), "price"),
        amount=dec(item.get("amount"), "amount"),
        fee=fee,
        fee_currency=fee_currency,
        liquidity=Liquidity(role) if role in ("maker", "taker") else None,
        timestamp=ms_time(item.get("create_time_ms") or _seconds_as_ms(item), "create_time"),
    )


def _seconds_as_ms(item: Mapping[str, Any]) -> Any:
    seconds = item.get("create_time")
    return None if seconds is None else dec(seconds, "create_time") * 1000


def _side(value: Any) -> OrderSide:
    try:
        return OrderSide(text(value).lower())
    except ValueError:
        raise MalformedFrame(f"unknown side {value!r}") from None


class GateUserStream:
    """The dialect of Gate.io's spot user-data channels for one account."""

    venue = "gateio"
    default_url = GATE_WS_URL
    handshake_steps = len(CHANNELS)
    keepalive_interval: float | None = 15.0

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

    def decode(self, raw: str | bytes) -> Any:
        return text_json(raw)

    def handshake(self, credentials: VenueCredentials, url: str) -> list[Any]:
        now = int(self.clock())
        return [
            subscribe_request(credentials, channel=c, timestamp=now, request_id=next(self._ids))
            for c in CHANNELS
        ]

    def keepalive(self) -> Any | None:
        return {"time": int(self.clock()), "channel": "spot.ping"}

    def read(self, message: Any) -> Reading:
        reading = Reading()
        if not isinstance(message, dict):
            reading.skipped.append("not a JSON object")
            return reading
        channel = text(message.get("channel"))
        event = text(message.get("event"))
        error = message.get("error")
        if event == "subscribe":
            if error:
                code = error.get("code") if isinstance(error, dict) else None
                reading.refusal = Refusal(
                    code=str(code),
                    message=text(error.get("message") if isinstance(error, dict) else error),
                    auth=code == AUTH_ERROR,
                )
            elif channel in CHANNELS:
                reading.confirmed = 1
            return reading
        if channel == "spot.pong" or event == "unsubscribe":
            return reading
        if event != "update" or channel not in CHANNELS:
            reading.skipped.append(f"unrecognised frame ({channel!r}, {event!r})")
            return reading
        items = message.get("result")
        if not isinstance(items, list):
            reading.skipped.append(f"{channel} update without a result list")
            return reading
        parse = order_state if channel == ORDERS else trade_fill
        for item in items:
            if not isinstance(item, dict):
                reading.skipped.append(f"{channel}: an item that is not an object")
                continue
            venue_id = item.get("currency_pair")
            market = self.markets(venue_id)
            if market is None:
                reading.unknown_symbols.add(text(venue_id))
                reading.skipped.append(f"unknown symbol {venue_id!r}")
                continue
            try:
                reading.updates.append(parse(item, account_id=self.account_id, market=market))
            except (MalformedFrame, KeyError, TypeError, ValueError, ArithmeticError) as problem:
                reading.skipped.append(f"malformed {channel} item: {problem}")
        return reading
