"""Routes under ``/api/v1/config/secrets/`` (mounted by the composition root before the
config routes, whose ``{key}`` would otherwise take "secrets")."""

from django.urls import path

from domains.core.http.secrets_views import SecretListView, SecretView

urlpatterns = [
    path("", SecretListView.as_view(), name="secrets-list"),
    # Keys may contain "/": exchange/binance/main.
    path("<path:key>", SecretView.as_view(), name="secrets-detail"),
]
