"""The exchange domain's event handlers: feed the websocket streams, and the paper books.

Order updates and fills arrive durably (after their transaction commits); tickers, trades and books
on the fast path. Each stream handler only forwards to channel-layer groups, so a redelivery at
most repeats a frame (clients key orders by ``client_order_id`` and fills by ``fill_id``).

The paper feed handlers hand source venues' books (transient) and the data domain's closed
candles (durable) to this process's ``PaperMarketFeed``, which decides what moves the paper
books; its errors are logged there, never raised into the bus.
"""

from domains.data.events import CandleClosed
from domains.exchange.events import (
    OrderBookUpdated,
    OrderFilled,
    OrderUpdated,
    TickerUpdated,
    TradeExecuted,
)
from domains.exchange.services.paper.market_feed import paper_market_feed
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
PAPER_BOOKS_SUBSCRIBER = "exchange.paper_feed_books"
PAPER_CANDLES_SUBSCRIBER = "exchange.paper_feed_candles"


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


def on_order_book_updated_feed_paper(event: OrderBookUpdated) -> None:
    paper_market_feed().on_order_book(event)


def on_candle_closed_feed_paper(event: CandleClosed) -> None:
    paper_market_feed().on_candle_closed(event)
