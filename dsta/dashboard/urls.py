"""Routes of the dashboard, mounted at the site root by the composition root."""

from django.urls import path

from dsta.dashboard.views import (
    DashboardLoginView,
    DashboardLogoutView,
    DashboardView,
    root_redirect,
)

app_name = "dashboard"

urlpatterns = [
    path("", root_redirect, name="root"),
    path("dashboard/", DashboardView.as_view(), name="index"),
    path("dashboard/login/", DashboardLoginView.as_view(), name="login"),
    path("dashboard/logout/", DashboardLogoutView.as_view(), name="logout"),
]
