"""Routes under ``/api/v1/users/`` (mounted by the composition root)."""

from django.urls import path

from domains.core.http.users_views import (
    AuditLogView,
    InviteCreateView,
    PreferencesView,
    ProfileView,
    RegisterView,
)

urlpatterns = [
    path("invites", InviteCreateView.as_view(), name="users-invites"),
    path("register", RegisterView.as_view(), name="users-register"),
    path("profile", ProfileView.as_view(), name="users-profile"),
    path("preferences", PreferencesView.as_view(), name="users-preferences"),
    path("audit-log", AuditLogView.as_view(), name="users-audit-log"),
]
