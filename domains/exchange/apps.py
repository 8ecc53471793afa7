import threading

from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "domains.exchange"
    label = "exchange"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the in-process exchange gateway with the rpc registry, and the handlers
        that feed the websocket streams and the paper books."""
        from domains.data.events import CandleClosed
        from domains.exchange.api import ExchangeApi
        from domains.exchange.events import (
            OrderBookUpdated,
            OrderFilled,
            OrderUpdated,
            TickerUpdated,
            TradeExecuted,
        )
        from domains.exchange.handlers import (
            PAPER_BOOKS_SUBSCRIBER,
            PAPER_CANDLES_SUBSCRIBER,
            STREAM_BOOKS_SUBSCRIBER,
            STREAM_FILLS_SUBSCRIBER,
            STREAM_ORDERS_SUBSCRIBER,
            STREAM_TICKERS_SUBSCRIBER,
            STREAM_TRADES_SUBSCRIBER,
            on_candle_closed_feed_paper,
            on_order_book_updated_feed_paper,
            on_order_book_updated_push_to_stream,
            on_order_filled_push_to_stream,
            on_order_updated_push_to_stream,
            on_ticker_updated_push_to_stream,
            on_trade_executed_push_to_stream,
        )
        from domains.exchange.services.gateway import ExchangeGateway
        from domains.exchange.services.orders.metrics import register_collector
        from domains.exchange.services.paper.market_feed import paper_market_feed
        from dsta.kernel import rpc
        from dsta.kernel.bus import subscribe

        # One paper feed per process: the gateway seeds empty paper books with it, the
        # handlers below move them (its preference state is in memory).
        feed = paper_market_feed()
        rpc.register(ExchangeApi, ExchangeGateway(paper=feed.paper, paper_feed=feed))
        register_collector()  # live orders without a verdict, on /metrics
        subscribe(
            OrderUpdated, on_order_updated_push_to_stream, subscriber=STREAM_ORDERS_SUBSCRIBER
        )
        subscribe(OrderFilled, on_order_filled_push_to_stream, subscriber=STREAM_FILLS_SUBSCRIBER)
        subscribe(
            TickerUpdated, on_ticker_updated_push_to_stream, subscriber=STREAM_TICKERS_SUBSCRIBER
        )
        subscribe(
            OrderBookUpdated,
            on_order_book_updated_push_to_stream,
            subscriber=STREAM_BOOKS_SUBSCRIBER,
        )
        subscribe(
            TradeExecuted, on_trade_executed_push_to_stream, subscriber=STREAM_TRADES_SUBSCRIBER
        )
        subscribe(
            OrderBookUpdated, on_order_book_updated_feed_paper, subscriber=PAPER_BOOKS_SUBSCRIBER
        )
        subscribe(CandleClosed, on_candle_closed_feed_paper, subscriber=PAPER_CANDLES_SUBSCRIBER)
        self._register_background_loops()

    @staticmethod
    def _register_background_loops() -> None:
        """``manage.py serve`` (the embedded process) keeps every enabled live account's
        private stream up; a split deployment runs ``exchange_account_stream --all`` instead."""
        from django.conf import settings

        from dsta.kernel.jobs.api import register_background

        if not getattr(settings, "EXCHANGE_ACCOUNT_STREAMS_IN_SERVE", True):
            return

        def account_streams(stop: threading.Event) -> None:
            from domains.exchange.services.user_streams import run_account_streams

            run_account_streams(stop)

        register_background(
            "exchange.account_streams",
            account_streams,
            description="private websockets of every enabled live account",
        )
