"""``MarketDataService``: the in-process implementation of ``MarketDataApi`` (``data.market``)."""

from datetime import datetime

from domains.data.api import CandleSeries, GapInfo, MarketDataApi, SeriesSummary
from domains.data.selectors import to_ms
from domains.data.services.serving import (
    candles_page,
    page_request,
    series_gaps,
    series_summaries,
)
from dsta.kernel.market import SeriesKey, Timeframe, symbol_from_url


def series_key(
    *, venue: str, symbol: str, timeframe: str, market_type: str, price_type: str
) -> SeriesKey:
    """A checked key from plain strings; the symbol may be in its URL form (``BTC-USDT``)."""
    return SeriesKey.of(venue, market_type, symbol_from_url(symbol), price_type, timeframe)


class MarketDataService(MarketDataApi):
    """Reads stored candles, series and gaps (see ``domains.data.services.serving``)."""

    def candles(
        self,
        *,
        venue: str,
        symbol: str,
        timeframe: str,
        market_type: str = "spot",
        price_type: str = "trades",
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> CandleSeries:
        key = series_key(
            venue=venue,
            symbol=symbol,
            timeframe=timeframe,
            market_type=market_type,
            price_type=price_type,
        )
        request = page_request(
            series=key, start=to_ms(start, "start"), end=to_ms(end, "end"), limit=limit
        )
        return candles_page(request)

    def series(
        self,
        *,
        venue: str | None = None,
        symbol: str | None = None,
        timeframe: str | None = None,
        market_type: str | None = None,
        price_type: str | None = None,
    ) -> list[SeriesSummary]:
        return series_summaries(
            venue=venue,
            symbol=symbol_from_url(symbol) if symbol else None,
            timeframe=Timeframe(timeframe).code if timeframe else None,
            market_type=market_type,
            price_type=price_type,
        )

    def gaps(
        self,
        *,
        venue: str,
        symbol: str,
        timeframe: str,
        market_type: str = "spot",
        price_type: str = "trades",
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[GapInfo]:
        key = series_key(
            venue=venue,
            symbol=symbol,
            timeframe=timeframe,
            market_type=market_type,
            price_type=price_type,
        )
        return series_gaps(series=key, start=to_ms(start, "start"), end=to_ms(end, "end"))
