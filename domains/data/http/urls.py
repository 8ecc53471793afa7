"""Routes under ``/api/v1/market-data/`` (mounted by the composition root)."""

from django.urls import path

from domains.data.http.views import (
    GapFillView,
    GapsView,
    OhlcvView,
    OrderBookView,
    SeriesListView,
    SyncView,
)

urlpatterns = [
    path("series", SeriesListView.as_view(), name="market-data-series"),
    path("ohlcv/<str:symbol>", OhlcvView.as_view(), name="market-data-ohlcv"),
    path("orderbook/<str:symbol>", OrderBookView.as_view(), name="market-data-orderbook"),
    path("gaps", GapsView.as_view(), name="market-data-gaps"),
    path("gaps/fill", GapFillView.as_view(), name="market-data-gaps-fill"),
    path("sync", SyncView.as_view(), name="market-data-sync"),
]
