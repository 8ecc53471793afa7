"""``/api/v1/config/secrets/``: write-only secrets. Values go in; only metadata comes out."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.core.http.owners import OWNER_PARAMETER, acting_owner_id
from domains.core.http.secrets_serializers import SecretInfoSerializer, SecretWriteSerializer
from domains.core.http.serializers import ErrorSerializer
from domains.core.services.clients import client_ip
from domains.core.services.secrets import (
    secret_delete,
    secret_get,
    secret_set,
    secrets_of,
    serialize_secret,
)
from dsta.kernel.permissions import AnyRole, IsTrader

_OWNER = OpenApiParameter(
    OWNER_PARAMETER, int, description="Admins: act on this user's secrets (default: your own)."
)
_ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="Not signed in."),
    403: OpenApiResponse(ErrorSerializer, description="Role or scope too low."),
}
_NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="secret_not_found")}
_BAD_KEY = {400: OpenApiResponse(ErrorSerializer, description="secret_invalid (malformed key)")}


class SecretListView(APIView):
    """The caller's secrets, metadata only."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="secrets_list",
        tags=["secrets"],
        parameters=[_OWNER],
        responses={200: SecretInfoSerializer(many=True), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        owner_id = acting_owner_id(request)
        infos = [serialize_secret(row) for row in secrets_of(owner_id=owner_id)]
        return Response(SecretInfoSerializer(infos, many=True).data)


class SecretView(APIView):
    """One secret: metadata (GET), create or replace (PUT, traders), delete (DELETE)."""

    def get_permissions(self) -> list[BasePermission]:
        # Reading metadata reveals nothing; writing credentials is a trading act.
        return [AnyRole()] if self.request.method == "GET" else [IsTrader()]

    @extend_schema(
        operation_id="secrets_get",
        tags=["secrets"],
        parameters=[_OWNER],
        responses={200: SecretInfoSerializer, **_BAD_KEY, **_ERRORS, **_NOT_FOUND},
    )
    def get(self, request: Request, key: str) -> Response:
        row = secret_get(owner_id=acting_owner_id(request), key=key)
        return Response(SecretInfoSerializer(serialize_secret(row)).data)

    @extend_schema(
        operation_id="secrets_put",
        tags=["secrets"],
        parameters=[_OWNER],
        request=SecretWriteSerializer,
        responses={
            200: OpenApiResponse(SecretInfoSerializer, description="Replaced."),
            201: OpenApiResponse(SecretInfoSerializer, description="Created."),
            400: OpenApiResponse(ErrorSerializer, description="malformed body or secret_invalid"),
            **_ERRORS,
            409: OpenApiResponse(ErrorSerializer, description="secret_version_conflict"),
        },
    )
    def put(self, request: Request, key: str) -> Response:
        owner_id = acting_owner_id(request)
        body = SecretWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        written = secret_set(
            owner_id=owner_id,
            key=key,
            kind=body.validated_data["kind"],
            value=body.validated_data["value"],
            actor_id=request.user.pk,
            expected_version=body.validated_data.get("expected_version"),
            ip=client_ip(request),
            source="core",
        )
        status = 201 if written.created else 200
        return Response(SecretInfoSerializer(serialize_secret(written.secret)).data, status=status)

    @extend_schema(
        operation_id="secrets_delete",
        tags=["secrets"],
        parameters=[_OWNER],
        responses={204: None, **_BAD_KEY, **_ERRORS, **_NOT_FOUND},
    )
    def delete(self, request: Request, key: str) -> Response:
        secret_delete(
            owner_id=acting_owner_id(request),
            key=key,
            actor_id=request.user.pk,
            ip=client_ip(request),
        )
        return Response(status=204)
