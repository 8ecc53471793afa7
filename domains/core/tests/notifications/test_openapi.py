"""The secrets and notification endpoints produce a clean OpenAPI schema."""

from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

PATTERNS = [
    path("api/v1/config/secrets/", include("domains.core.http.secrets_urls")),
    path("api/v1/notifications/", include("domains.core.http.notification_urls")),
]


def test_the_schema_is_valid_and_warning_free() -> None:
    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=PATTERNS).get_schema(request=None, public=True)
    problems = dict(GENERATOR_STATS._warn_cache) | dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    assert problems == {}
    validate_schema(schema)
    assert set(schema["paths"]) == {
        "/api/v1/config/secrets/",
        "/api/v1/config/secrets/{key}",
        "/api/v1/notifications/send",
        "/api/v1/notifications/history",
        "/api/v1/notifications/templates",
        "/api/v1/notifications/templates/{name}",
        "/api/v1/notifications/preferences",
    }
    # Write-only: no response schema of the secrets endpoints has a value.
    info = schema["components"]["schemas"]["SecretInfo"]
    assert "value" not in info["properties"]
    assert "value" in schema["components"]["schemas"]["SecretWrite"]["properties"]
