"""Routes under ``/api/v1/exchange/`` (mounted by the composition root).

The fixed names (``health``, ``accounts``, ``accounts/default``, ``paper/accounts``,
``live/accounts``) come before
the per-venue routes; symbols use the URL form ``BTC-USDT`` (``dsta.kernel.market``).
"""

from django.urls import path

from domains.exchange.http.views import (
    AccountDefaultView,
    AccountListView,
    AccountView,
    BalanceView,
    BatchCancelView,
    CancelView,
    FillListView,
    HealthView,
    LiveAccountCreateView,
    MarketListView,
    OrderBookView,
    OrderDetailView,
    OrderListView,
    OrderPlaceView,
    PaperAccountCreateView,
    ReconcileView,
    TickerView,
    TradeListView,
    VenueStatusView,
)

urlpatterns = [
    path("health", HealthView.as_view(), name="exchange-health"),
    path("accounts", AccountListView.as_view(), name="exchange-accounts"),
    path("accounts/default", AccountDefaultView.as_view(), name="exchange-account-default"),
    path("paper/accounts", PaperAccountCreateView.as_view(), name="exchange-paper-accounts"),
    path("live/accounts", LiveAccountCreateView.as_view(), name="exchange-live-accounts"),
    path("<str:venue>/order", OrderPlaceView.as_view(), name="exchange-order"),
    path(
        "<str:venue>/order/<str:client_order_id>",
        OrderDetailView.as_view(),
        name="exchange-order-detail",
    ),
    path("<str:venue>/orders", OrderListView.as_view(), name="exchange-orders"),
    path("<str:venue>/fills", FillListView.as_view(), name="exchange-fills"),
    path("<str:venue>/markets", MarketListView.as_view(), name="exchange-markets"),
    path("<str:venue>/reconcile", ReconcileView.as_view(), name="exchange-reconcile"),
    path("<str:venue>/cancel", CancelView.as_view(), name="exchange-cancel"),
    path("<str:venue>/batch-cancel", BatchCancelView.as_view(), name="exchange-batch-cancel"),
    path("<str:venue>/balance", BalanceView.as_view(), name="exchange-balance"),
    path("<str:venue>/account", AccountView.as_view(), name="exchange-account"),
    path("<str:venue>/ticker/<str:symbol>", TickerView.as_view(), name="exchange-ticker"),
    path("<str:venue>/orderbook/<str:symbol>", OrderBookView.as_view(), name="exchange-orderbook"),
    path("<str:venue>/trades/<str:symbol>", TradeListView.as_view(), name="exchange-trades"),
    path("<str:venue>/status", VenueStatusView.as_view(), name="exchange-status"),
]
