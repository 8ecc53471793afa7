"""The config endpoints produce a clean OpenAPI schema (no drf-spectacular warnings)."""

from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

CONFIG_PATTERNS = [path("api/v1/config/", include("domains.core.http.config_urls"))]


def test_the_config_schema_is_valid_and_warning_free() -> None:
    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=CONFIG_PATTERNS).get_schema(request=None, public=True)
    problems = dict(GENERATOR_STATS._warn_cache) | dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    assert problems == {}
    validate_schema(schema)
    paths = schema["paths"]
    assert set(paths) == {
        "/api/v1/config/",
        "/api/v1/config/{key}",
        "/api/v1/config/{key}/history",
    }
    put = paths["/api/v1/config/{key}"]["put"]
    assert put["operationId"] == "config_set"
    assert {"200", "400", "404", "409", "413"} <= set(put["responses"])
    body = schema["components"]["schemas"]["ConfigWrite"]
    assert body["required"] == ["value"]
    assert set(body["properties"]) == {"value", "environment", "reason", "expected_version"}
