"""Routes under ``/api/v1/backtest/`` (mounted by the composition root). Fixed routes come
before ``<run_id>`` so that ``optimize`` is never read as a run id."""

from django.urls import path

from domains.data.http.backtest_views import (
    MonteCarloDetailView,
    MonteCarloView,
    OptimizeDetailView,
    OptimizeView,
    ReportView,
    RerunView,
    ResultsView,
    RunDetailView,
    RunListView,
    RunView,
    StrategiesView,
    WalkForwardDetailView,
    WalkForwardView,
)

urlpatterns = [
    path("strategies", StrategiesView.as_view(), name="backtest-strategies"),
    path("run", RunView.as_view(), name="backtest-run"),
    path("runs", RunListView.as_view(), name="backtest-runs"),
    path("optimize", OptimizeView.as_view(), name="backtest-optimize"),
    path("optimize/<str:study_id>", OptimizeDetailView.as_view(), name="backtest-optimize-detail"),
    path("walk-forward", WalkForwardView.as_view(), name="backtest-walk-forward"),
    path(
        "walk-forward/<str:study_id>",
        WalkForwardDetailView.as_view(),
        name="backtest-walk-forward-detail",
    ),
    path("monte-carlo", MonteCarloView.as_view(), name="backtest-monte-carlo"),
    path(
        "monte-carlo/<str:study_id>",
        MonteCarloDetailView.as_view(),
        name="backtest-monte-carlo-detail",
    ),
    path("<str:run_id>", RunDetailView.as_view(), name="backtest-detail"),
    path("<str:run_id>/results", ResultsView.as_view(), name="backtest-results"),
    path("<str:run_id>/rerun", RerunView.as_view(), name="backtest-rerun"),
    path("<str:run_id>/report", ReportView.as_view(), name="backtest-report"),
]
