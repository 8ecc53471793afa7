"""``/api/v1/config/``: read, write and audit configuration. Thin: parse, call, render."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.core.http.serializers import (
    ConfigEntrySerializer,
    ConfigKeySerializer,
    ConfigVersionSerializer,
    ConfigWriteSerializer,
    EnvironmentQuerySerializer,
    ErrorSerializer,
    HistoryQuerySerializer,
)
from domains.core.selectors import config_entries_list, config_entry_get, config_history
from domains.core.serial import serialize_entry, serialize_version
from domains.core.services.values import config_value_set
from dsta.kernel.permissions import AnyRole, IsAdmin

ENVIRONMENT_PARAMETER = OpenApiParameter(
    "environment",
    str,
    description="Environment to read ('default', 'paper', 'live'...); falls back to 'default'.",
    default="default",
)
_ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="Not signed in."),
    403: OpenApiResponse(ErrorSerializer, description="Not allowed."),
}
_UNKNOWN_KEY = {404: OpenApiResponse(ErrorSerializer, description="config_key_unknown")}
_BAD_QUERY = {400: OpenApiResponse(ErrorSerializer, description="invalid query parameters")}


def _query(serializer_class: type[EnvironmentQuerySerializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ConfigListView(APIView):
    """Every key with its schema and its effective value in one environment."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="config_list",
        tags=["config"],
        parameters=[ENVIRONMENT_PARAMETER],
        responses={200: ConfigKeySerializer(many=True), **_BAD_QUERY, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = _query(EnvironmentQuerySerializer, request)
        items = [
            {
                "key": config_key.key,
                "description": config_key.description,
                "schema": config_key.schema,
                "default": config_key.default,
                "is_feature_flag": config_key.is_feature_flag,
                "is_secret": config_key.is_secret,
                "current": entry,
            }
            for config_key, entry in config_entries_list(environment=query["environment"])
        ]
        return Response(ConfigKeySerializer(items, many=True).data)


class ConfigKeyView(APIView):
    """Read (any role) or write (admin) one key."""

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method == "PUT":
            return [IsAdmin()]
        return [AnyRole()]

    @extend_schema(
        operation_id="config_get",
        tags=["config"],
        parameters=[ENVIRONMENT_PARAMETER],
        responses={200: ConfigEntrySerializer, **_BAD_QUERY, **_ERRORS, **_UNKNOWN_KEY},
    )
    def get(self, request: Request, key: str) -> Response:
        query = _query(EnvironmentQuerySerializer, request)
        entry = config_entry_get(key=key, environment=query["environment"])
        return Response(ConfigEntrySerializer(entry).data)

    @extend_schema(
        operation_id="config_set",
        tags=["config"],
        request=ConfigWriteSerializer,
        responses={
            200: ConfigEntrySerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="malformed JSON, wrong types, or config_value_invalid (details "
                "list each schema violation with its JSON path)",
            ),
            **_ERRORS,
            **_UNKNOWN_KEY,
            409: OpenApiResponse(ErrorSerializer, description="config_version_conflict"),
            413: OpenApiResponse(ErrorSerializer, description="body or value too large"),
        },
    )
    def put(self, request: Request, key: str) -> Response:
        body = ConfigWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = config_value_set(
            key=key,
            value=body.validated_data["value"],
            environment=body.validated_data["environment"],
            actor_id=request.user.pk,
            reason=body.validated_data["reason"],
            expected_version=body.validated_data.get("expected_version"),
        )
        entry = serialize_entry(
            config_key=row.config_key, environment=row.environment, own=row, fallback=None
        )
        return Response(ConfigEntrySerializer(entry).data)


class ConfigHistoryView(APIView):
    """The versions written for one key in one environment, newest first."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="config_history",
        tags=["config"],
        parameters=[
            OpenApiParameter(
                "environment", str, description="Environment (no fallback).", default="default"
            ),
            OpenApiParameter("limit", int, description="At most this many (1-1000).", default=50),
        ],
        responses={
            200: ConfigVersionSerializer(many=True),
            **_BAD_QUERY,
            **_ERRORS,
            **_UNKNOWN_KEY,
        },
    )
    def get(self, request: Request, key: str) -> Response:
        query = _query(HistoryQuerySerializer, request)
        rows = config_history(key=key, environment=query["environment"], limit=query["limit"])
        versions = [serialize_version(row) for row in rows]
        return Response(ConfigVersionSerializer(versions, many=True).data)
