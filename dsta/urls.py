"""The composition root's URL map: admin, API docs, operations, and each domain's routes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

handler400 = "dsta.kernel.http.bad_request"
handler404 = "dsta.kernel.http.not_found"
handler500 = "dsta.kernel.http.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("dsta.kernel.ops.urls")),
    path("", include("dsta.kernel.rpc.urls")),
    # The web dashboard at /dashboard/ ("/" redirects there).
    path("", include("dsta.dashboard.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="openapi-schema"),
    path(
        "api/v1/docs/", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="api-docs"
    ),
    path(
        "api/v1/redoc/",
        # Our template drops the Google Fonts links: the docs work offline.
        SpectacularRedocView.as_view(url_name="openapi-schema", template_name="ops/redoc.html"),
        name="api-redoc",
    ),
    path("api/v1/auth/", include("domains.core.http.auth_urls")),
    path("api/v1/users/", include("domains.core.http.users_urls")),
    # Before config: its "<key>" route would take "secrets/".
    path("api/v1/config/secrets/", include("domains.core.http.secrets_urls")),
    path("api/v1/config/", include("domains.core.http.config_urls")),
    path("api/v1/notifications/", include("domains.core.http.notification_urls")),
    path("api/v1/jobs/", include("dsta.kernel.jobs.urls")),
    path("api/v1/exchange/", include("domains.exchange.http.urls")),
    path("api/v1/market-data/", include("domains.data.http.urls")),
    path("api/v1/backtest/", include("domains.data.http.backtest_urls")),
    path("api/v1/analytics/", include("domains.data.http.analytics_urls")),
]
