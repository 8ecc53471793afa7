"""Routes under ``/api/v1/config/`` (mounted by the composition root)."""

from django.urls import path

from domains.core.http.config_views import ConfigHistoryView, ConfigKeyView, ConfigListView

urlpatterns = [
    path("", ConfigListView.as_view(), name="config-list"),
    path("<str:key>/history", ConfigHistoryView.as_view(), name="config-history"),
    path("<str:key>", ConfigKeyView.as_view(), name="config-detail"),
]
