"""The endpoint stays out of the public API surface."""

from typing import Any

from django.test import Client
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator


def test_the_public_openapi_schema_does_not_list_the_rpc_endpoint(settings: Any) -> None:
    settings.DSTA_SERVICE_TOKEN = "a-token"

    # Mounted in the URLconf (so the check below is not vacuous)...
    assert resolve("/internal/rpc/core.config/get").route == "internal/rpc/<service>/<method>"
    schema = SchemaGenerator().get_schema(request=None, public=True)

    # ...but not in the public schema.
    assert not [path for path in schema["paths"] if "internal" in path or "rpc" in path]


def test_the_endpoint_has_no_docs_or_schema_of_its_own(settings: Any, client: Client) -> None:
    settings.DSTA_SERVICE_TOKEN = "a-token"
    auth = {"Authorization": "Bearer a-token"}

    for path in ("/internal/rpc/docs", "/internal/rpc/openapi.json", "/internal/rpc/"):
        assert client.get(path, headers=auth).status_code == 404
