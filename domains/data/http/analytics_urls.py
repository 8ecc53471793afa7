"""Routes under ``/api/v1/analytics/`` (mounted by the composition root)."""

from django.urls import path

from domains.data.http.analytics_views import (
    CorrelationView,
    EquityCurveView,
    PerformanceView,
    ReportDetailView,
    ReportGenerateView,
    SharpeView,
)

urlpatterns = [
    path("performance", PerformanceView.as_view(), name="analytics-performance"),
    path("equity-curve", EquityCurveView.as_view(), name="analytics-equity-curve"),
    path("sharpe", SharpeView.as_view(), name="analytics-sharpe"),
    path("correlation", CorrelationView.as_view(), name="analytics-correlation"),
    path("reports/generate", ReportGenerateView.as_view(), name="analytics-reports-generate"),
    path("reports/<str:report_id>", ReportDetailView.as_view(), name="analytics-report"),
]
