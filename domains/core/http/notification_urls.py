"""Routes under ``/api/v1/notifications/`` (mounted by the composition root)."""

from django.urls import path

from domains.core.http.notification_views import (
    HistoryView,
    PreferencesView,
    SendView,
    TemplateListView,
    TemplateView,
)

urlpatterns = [
    path("send", SendView.as_view(), name="notifications-send"),
    path("history", HistoryView.as_view(), name="notifications-history"),
    path("templates", TemplateListView.as_view(), name="notification-templates"),
    path("templates/<str:name>", TemplateView.as_view(), name="notification-template"),
    path("preferences", PreferencesView.as_view(), name="notification-preferences"),
]
