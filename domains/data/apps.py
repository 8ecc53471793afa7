from django.apps import AppConfig


class DataConfig(AppConfig):
    name = "domains.data"
    label = "data"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register ``MarketDataApi`` with the rpc registry and subscribe the handlers."""
        from domains.data.api import MarketDataApi
        from domains.data.events import CandleClosed, CandleUpdated
        from domains.data.handlers import (
            CANDLE_CLOSED_STREAM_SUBSCRIBER,
            CANDLE_UPDATED_STREAM_SUBSCRIBER,
            TICKER_LIVE_SUBSCRIBER,
            on_candle_closed_push,
            on_candle_updated_push,
            on_ticker_build_live_candles,
        )
        from domains.data.services.market_api import MarketDataService
        from domains.exchange.events import TickerUpdated
        from dsta.kernel import rpc
        from dsta.kernel.bus import subscribe

        rpc.register(MarketDataApi, MarketDataService())
        subscribe(CandleClosed, on_candle_closed_push, subscriber=CANDLE_CLOSED_STREAM_SUBSCRIBER)
        subscribe(
            CandleUpdated, on_candle_updated_push, subscriber=CANDLE_UPDATED_STREAM_SUBSCRIBER
        )
        subscribe(TickerUpdated, on_ticker_build_live_candles, subscriber=TICKER_LIVE_SUBSCRIBER)
