"""The exchange domain's handlers of its own events: feed the websocket streams.

Order updates and fills arrive durably (after their transaction commits); tickers, trades and books
on the fast path. Each handler only forwards to channel-layer groups, so a redelivery at most
repeats a frame (clients key orders by ``client_order_id`` and fills by ``fill_id``).
"""

from domains.exchange.events import (
    OrderBookUpdated,
    OrderFilled,
    OrderUpdated,
    TickerUpdated,
    TradeExecuted,
)
from domains.exchange.services.stream_push import (
    push_order_book,
    push_order_filled,
    push_order_updated,
    push_ticker,
    push_trade,
)

# Subscriber names are stable ids: the bus keys its inbox (dedupe) on them.
STREAM_ORDERS_SUBSCRIBER = "exchange.stream_orders"
STREAM_FILLS_SUBSCRIBER = "exchange.stream_fills"
STREAM_TICKERS_SUBSCRIBER = "exchange.stream_tickers"
STREAM_BOOKS_SUBSCRIBER = "exchange.stream_books"
STREAM_TRADES_SUBSCRIBER = "exchange.stream_trades"


def on_order_updated_push_to_stream(event: OrderUpdated) -> None:
    push_order_updated(event)


def on_order_filled_push_to_stream(event: OrderFilled) -> None:
    push_order_filled(event)


def on_ticker_updated_push_to_stream(event: TickerUpdated) -> None:
    push_ticker(event)


def on_order_book_updated_push_to_stream(event: OrderBookUpdated) -> None:
    push_order_book(event)


def on_trade_executed_push_to_stream(event: TradeExecuted) -> None:
    push_trade(event)
