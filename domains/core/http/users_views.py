"""``/api/v1/users/``: invites and registration, profile, preferences, the audit log."""

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.core.api import UserPreferences
from domains.core.http.serializers import ErrorSerializer
from domains.core.http.users_serializers import (
    AuditEntrySerializer,
    AuditPageSerializer,
    AuditQuerySerializer,
    InviteCreatedSerializer,
    InviteCreateSerializer,
    ProfileSerializer,
    RegisterSerializer,
)
from domains.core.services.audit import audit_entries, serialize_audit_entry
from domains.core.services.clients import client_ip
from domains.core.services.users import (
    invite_create,
    invite_register,
    preferences_get,
    preferences_set,
    profile_get,
)
from dsta.kernel.errors import Forbidden
from dsta.kernel.permissions import IsAdmin, principal_of
from dsta.kernel.principal import Principal

_UNAUTHENTICATED = {401: OpenApiResponse(ErrorSerializer, description="Not signed in.")}
_FORBIDDEN = {403: OpenApiResponse(ErrorSerializer, description="Not allowed.")}


def _principal(request: Request) -> Principal:
    principal = principal_of(request)
    assert principal is not None  # the view's permissions admit signed-in callers only
    return principal


def _profile_body(user_id: int) -> dict[str, Any]:
    profile = profile_get(user_id=user_id)
    body = asdict(profile)
    body["preferences"] = profile.preferences.model_dump(mode="json")
    return dict(ProfileSerializer(body).data)


class InviteCreateView(APIView):
    """Admins invite a user with a role: a single-use token, shown once."""

    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="users_invites_create",
        tags=["users"],
        request=InviteCreateSerializer,
        responses={201: InviteCreatedSerializer, **_UNAUTHENTICATED, **_FORBIDDEN},
    )
    def post(self, request: Request) -> Response:
        body = InviteCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invite, token = invite_create(
            role=body.validated_data["role"],
            email=body.validated_data["email"],
            actor_id=_principal(request).user_id,
            ip=client_ip(request),
        )
        data = {
            "id": invite.pk,
            "token": token,
            "role": invite.role,
            "email": invite.email,
            "expires_at": invite.expires_at,
        }
        return Response(InviteCreatedSerializer(data).data, status=201)


class RegisterView(APIView):
    """Create an account with an invite token (no sign-in needed)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="users_register",
        tags=["users"],
        request=RegisterSerializer,
        responses={
            201: ProfileSerializer,
            400: OpenApiResponse(
                ErrorSerializer, description="invite_invalid, password_rejected, invalid_input"
            ),
            409: OpenApiResponse(ErrorSerializer, description="username_taken"),
        },
    )
    def post(self, request: Request) -> Response:
        body = RegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = invite_register(
            token=body.validated_data["token"],
            username=body.validated_data["username"],
            password=body.validated_data["password"],
            email=body.validated_data["email"],
            ip=client_ip(request),
        )
        return Response(_profile_body(user.pk), status=201)


class ProfileView(APIView):
    """The caller's profile, roles and preferences."""

    @extend_schema(
        operation_id="users_profile",
        tags=["users"],
        responses={200: ProfileSerializer, **_UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        return Response(_profile_body(_principal(request).user_id))


class PreferencesView(APIView):
    """The caller's preferences: read, or replace with a validated document."""

    @extend_schema(
        operation_id="users_preferences_get",
        tags=["users"],
        responses={200: UserPreferences, **_UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        preferences = preferences_get(user_id=_principal(request).user_id)
        return Response(preferences.model_dump(mode="json"))

    @extend_schema(
        operation_id="users_preferences_set",
        tags=["users"],
        request=UserPreferences,
        responses={
            200: UserPreferences,
            400: OpenApiResponse(
                ErrorSerializer,
                description="preferences_invalid: details.problems = [{path, message}]",
            ),
            **_UNAUTHENTICATED,
        },
    )
    def put(self, request: Request) -> Response:
        preferences = preferences_set(
            user_id=_principal(request).user_id, document=request.data, ip=client_ip(request)
        )
        return Response(preferences.model_dump(mode="json"))


class AuditLogView(APIView):
    """The caller's audit entries (admins: everyone's), newest first, a page at a time."""

    @extend_schema(
        operation_id="users_audit_log",
        tags=["users"],
        parameters=[AuditQuerySerializer],
        responses={
            200: AuditPageSerializer,
            400: OpenApiResponse(ErrorSerializer, description="invalid query parameters"),
            **_UNAUTHENTICATED,
        },
    )
    def get(self, request: Request) -> Response:
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        principal = _principal(request)
        if principal.is_admin:
            user_id = params.get("user_id")
        elif "user_id" in params and params["user_id"] != principal.user_id:
            raise Forbidden("only admins may read another user's entries")
        else:
            user_id = principal.user_id
        entries = audit_entries(
            user_id=user_id,
            actions=params.get("action") or None,
            since=params.get("since"),
            until=params.get("until"),
            before_id=params.get("before_id"),
            limit=params["limit"],
        )
        records = [asdict(serialize_audit_entry(entry)) for entry in entries]
        next_before = records[-1]["id"] if len(records) == params["limit"] else None
        return Response(
            {
                "results": AuditEntrySerializer(records, many=True).data,
                "next_before_id": next_before,
            }
        )
