"""Routes under ``/api/v1/auth/`` (mounted by the composition root)."""

from django.urls import path

from domains.core.http.auth_views import (
    ApiKeyDetailView,
    ApiKeyListView,
    LoginView,
    LogoutView,
    RefreshView,
    SessionDetailView,
    SessionListView,
    ValidateView,
)
from domains.core.http.oidc_views import OidcCallbackView, OidcLoginView

urlpatterns = [
    path("login", LoginView.as_view(), name="auth-login"),
    path("refresh", RefreshView.as_view(), name="auth-refresh"),
    path("logout", LogoutView.as_view(), name="auth-logout"),
    path("validate", ValidateView.as_view(), name="auth-validate"),
    path("sessions", SessionListView.as_view(), name="auth-sessions"),
    path("sessions/<str:session_id>", SessionDetailView.as_view(), name="auth-session"),
    path("api-keys", ApiKeyListView.as_view(), name="auth-api-keys"),
    path("api-keys/<str:key_id>", ApiKeyDetailView.as_view(), name="auth-api-key"),
    path("oidc/login", OidcLoginView.as_view(), name="auth-oidc-login"),
    path("oidc/callback", OidcCallbackView.as_view(), name="auth-oidc-callback"),
]
