"""The exchange endpoints produce a clean OpenAPI schema (no drf-spectacular warnings)."""

from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

PATTERNS = [path("api/v1/exchange/", include("domains.exchange.http.urls"))]


def test_the_exchange_schema_is_valid_and_warning_free() -> None:
    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=PATTERNS).get_schema(request=None, public=True)
    problems = dict(GENERATOR_STATS._warn_cache) | dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    assert problems == {}
    validate_schema(schema)
    place = schema["paths"]["/api/v1/exchange/{venue}/order"]["post"]
    assert place["operationId"] == "exchange_order_place"
    assert {"201", "400", "404", "409", "429", "503"} <= set(place["responses"])
    body = schema["components"]["schemas"]["OrderPlaceBody"]
    assert set(body["required"]) == {"symbol", "side", "type", "amount"}
