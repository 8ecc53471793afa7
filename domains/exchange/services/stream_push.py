"""Pushing exchange events to the websocket stream (``WS /api/v1/exchange/{venue}/stream``).

Order updates and fills go to the group of the account's owner (every open stream of that user;
the consumer keeps those of its venue); tickers, trades and books go to a group per (venue, symbol),
which a stream joins when it subscribes to the symbol.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from domains.exchange.events import (
    OrderBookUpdated,
    OrderFilled,
    OrderUpdated,
    TickerUpdated,
    TradeExecuted,
)
from domains.exchange.services.accounts import account_get
from dsta.kernel.market import symbol_to_url

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    """The channel-layer group of one user's exchange streams."""
    return f"exchange.user.{user_id}"


def market_group(venue: str, symbol: str) -> str:
    """The group of a market's ticker/book updates (names allow ``[A-Za-z0-9._-]``)."""
    return f"exchange.market.{venue}.{symbol_to_url(symbol).replace(':', '_')}"


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return  # no channel layer configured: nobody can be listening
    async_to_sync(layer.group_send)(group, message)


def _json(event: Any, *fields: str) -> dict[str, Any]:
    payload = event.model_dump(mode="json", include=set(fields))
    return {name: payload.get(name) for name in fields}


def push_order_updated(event: OrderUpdated) -> None:
    """An order's new state, to its owner's streams."""
    account = account_get(event.account_id)
    if account is None or account.owner_id is None:
        return
    order = _json(
        event,
        "account_id",
        "venue",
        "symbol",
        "client_order_id",
        "venue_order_id",
        "side",
        "type",
        "status",
        "amount",
        "filled",
        "price",
        "average_price",
        "fee",
        "fee_currency",
        "reason",
        "updated_at",
    )
    _send(
        user_group(account.owner_id),
        {"type": "exchange.order", "venue": event.venue, "order": order},
    )


def push_order_filled(event: OrderFilled) -> None:
    """A fill, to its owner's streams."""
    account = account_get(event.account_id)
    if account is None or account.owner_id is None:
        return
    fill = _json(
        event,
        "fill_id",
        "account_id",
        "venue",
        "symbol",
        "client_order_id",
        "venue_order_id",
        "side",
        "price",
        "amount",
        "fee",
        "fee_currency",
        "liquidity",
        "filled_at",
    )
    _send(
        user_group(account.owner_id), {"type": "exchange.fill", "venue": event.venue, "fill": fill}
    )


def push_ticker(event: TickerUpdated) -> None:
    """A ticker, to the streams subscribed to its market."""
    ticker = _json(event, "venue", "symbol", "bid", "ask", "last", "occurred_at")
    _send(market_group(event.venue, event.symbol), {"type": "exchange.ticker", "ticker": ticker})


def push_order_book(event: OrderBookUpdated) -> None:
    """A book snapshot, to the streams subscribed to its market."""
    book = _json(event, "venue", "symbol", "bids", "asks", "sequence", "occurred_at")
    _send(market_group(event.venue, event.symbol), {"type": "exchange.orderbook", "book": book})


def push_trade(event: TradeExecuted) -> None:
    """A public trade, to the streams subscribed to its market."""
    trade = _json(event, "venue", "symbol", "trade_id", "price", "amount", "side", "traded_at")
    _send(market_group(event.venue, event.symbol), {"type": "exchange.trade", "trade": trade})
