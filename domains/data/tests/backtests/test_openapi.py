"""The backtest and analytics endpoints produce a clean OpenAPI schema (no warnings)."""

from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

PATTERNS = [
    path("api/v1/backtest/", include("domains.data.http.backtest_urls")),
    path("api/v1/analytics/", include("domains.data.http.analytics_urls")),
]


def test_the_backtest_schema_is_valid_and_warning_free() -> None:
    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=PATTERNS).get_schema(request=None, public=True)
    problems = dict(GENERATOR_STATS._warn_cache) | dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    assert problems == {}
    validate_schema(schema)
    paths = schema["paths"]
    assert {
        "/api/v1/backtest/run",
        "/api/v1/backtest/{run_id}/results",
        "/api/v1/backtest/{run_id}/rerun",
        "/api/v1/backtest/{run_id}/report",
        "/api/v1/backtest/optimize",
        "/api/v1/backtest/walk-forward",
        "/api/v1/backtest/monte-carlo",
        "/api/v1/analytics/performance",
        "/api/v1/analytics/equity-curve",
        "/api/v1/analytics/reports/{report_id}",
        "/api/v1/analytics/reports/generate",
        "/api/v1/analytics/correlation",
        "/api/v1/analytics/sharpe",
    } <= set(paths)
    run = paths["/api/v1/backtest/run"]["post"]
    assert {"202", "400"} <= set(run["responses"])
    body = schema["components"]["schemas"]["RunBody"]
    assert set(body["required"]) == {"strategy", "series"}
    report = paths["/api/v1/backtest/{run_id}/report"]["get"]["responses"]["200"]["content"]
    assert {"text/html", "application/pdf"} <= set(report)
