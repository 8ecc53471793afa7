"""The data domain's event handlers: push candles to WebSocket subscribers, and build live
bars from the exchange's ticker feed. Small: each one calls a service."""

from decimal import Decimal

from domains.data.events import CandleClosed, CandleUpdated
from domains.data.services.live import LiveCandles
from domains.data.services.stream import candle_broadcast
from domains.data.services.venue_feed import datetime_to_ms
from domains.exchange.events import TickerUpdated
from dsta.kernel.market import SeriesKey

# Subscriber names are stable ids: the bus keys its inbox (dedupe) on them.
CANDLE_CLOSED_STREAM_SUBSCRIBER = "data.stream_closed"
CANDLE_UPDATED_STREAM_SUBSCRIBER = "data.stream_updated"
TICKER_LIVE_SUBSCRIBER = "data.live_candles"


def _fetch_closed_later(series: SeriesKey) -> None:
    # Imported here: tasks declares actors, which needs the broker configured (after ready()).
    from domains.data.tasks import keep_up_one

    keep_up_one.send(**series.as_dict())


live_candles = LiveCandles(on_price_only_close=_fetch_closed_later)


def on_candle_closed_push(event: CandleClosed) -> None:
    """Every stored closed candle goes to the WebSocket subscribers of its series."""
    candle_broadcast(event)


def on_candle_updated_push(event: CandleUpdated) -> None:
    """The bar in progress goes to the WebSocket subscribers of its series."""
    candle_broadcast(event)


def _price(event: TickerUpdated) -> Decimal | None:
    if event.last is not None:
        return event.last
    if event.bid is not None and event.ask is not None:
        return (event.bid + event.ask) / 2
    return None


def on_ticker_build_live_candles(event: TickerUpdated) -> None:
    """A ticker's last price (or its mid) feeds the live bars of the market's kept-up series."""
    price = _price(event)
    if price is None:
        return
    live_candles.on_price(
        venue=event.venue,
        symbol=event.symbol,
        price=float(price),
        ts_ms=datetime_to_ms(event.occurred_at),
    )
