"""``/api/v1/auth/``: login, refresh, logout, validate, sessions, API keys. Thin: parse,
call one service, render."""

from datetime import timedelta
from typing import Any

from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.core.http.auth_serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    LoginSerializer,
    PrincipalSerializer,
    RefreshSerializer,
    SessionSerializer,
    TokenPairSerializer,
)
from domains.core.http.serializers import ErrorSerializer
from domains.core.services.api_keys import (
    api_key_create,
    api_key_get,
    api_key_revoke,
    api_keys_of,
    describe_key,
)
from domains.core.services.clients import client_ip, client_user_agent
from domains.core.services.login import (
    LOGIN_AUDITED_ATTRIBUTE,
    logout,
    password_login,
    session_revoke_own,
)
from domains.core.services.tokens import IssuedTokens, session_refresh, sessions_active
from dsta.kernel.errors import InvalidInput, NotFound
from dsta.kernel.permissions import principal_of
from dsta.kernel.principal import Principal

_UNAUTHENTICATED = {401: OpenApiResponse(ErrorSerializer, description="Not signed in.")}
_BAD_BODY = {400: OpenApiResponse(ErrorSerializer, description="malformed or invalid body")}


def _principal(request: Request) -> Principal:
    principal = principal_of(request)
    assert principal is not None  # the view's permissions admit signed-in callers only
    return principal


def token_pair(tokens: IssuedTokens) -> dict[str, Any]:
    """The JSON body of a token pair."""
    return TokenPairSerializer(
        {
            "access": tokens.access,
            "refresh": tokens.refresh,
            "token_type": "Bearer",
            "access_expires_at": tokens.access_expires_at,
            "refresh_expires_at": tokens.refresh_expires_at,
            "session_id": tokens.session_id,
        }
    ).data


def start_django_session(request: Request, user: Any) -> None:
    """Also sign the browser in with a Django session cookie (the dashboard, the admin)."""
    setattr(request._request, LOGIN_AUDITED_ATTRIBUTE, True)
    django_login(request._request, user, backend="domains.core.backends.LockoutModelBackend")


class LoginView(APIView):
    """Username + password to a token pair (and optionally a Django session)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_login",
        tags=["auth"],
        request=LoginSerializer,
        responses={
            200: TokenPairSerializer,
            **_BAD_BODY,
            401: OpenApiResponse(ErrorSerializer, description="invalid_credentials"),
            429: OpenApiResponse(
                ErrorSerializer,
                description="login_locked (details.retry_after seconds; Retry-After header)",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = LoginSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user, tokens = password_login(
            request=request._request,
            username=body.validated_data["username"],
            password=body.validated_data["password"],
        )
        if body.validated_data["session"]:
            start_django_session(request, user)
        return Response(token_pair(tokens))


class RefreshView(APIView):
    """A refresh token to a new pair; the old refresh token stops working (rotation)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_refresh",
        tags=["auth"],
        request=RefreshSerializer,
        responses={
            200: TokenPairSerializer,
            **_BAD_BODY,
            401: OpenApiResponse(
                ErrorSerializer,
                description="token_invalid, token_expired, token_revoked (a reused refresh "
                "token revokes its whole session)",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = RefreshSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        tokens = session_refresh(
            refresh_token=body.validated_data["refresh"],
            ip=client_ip(request),
            user_agent=client_user_agent(request),
        )
        return Response(token_pair(tokens))


class LogoutView(APIView):
    """End this request's login: the token session (its tokens stop working at once) and the
    Django session, if any."""

    @extend_schema(
        operation_id="auth_logout",
        tags=["auth"],
        request=None,
        responses={
            204: None,
            400: OpenApiResponse(ErrorSerializer, description="an API key cannot log out"),
            **_UNAUTHENTICATED,
        },
    )
    def post(self, request: Request) -> Response:
        principal = _principal(request)
        if principal.via == "api_key":
            raise InvalidInput("an API key has no login to end; revoke the key instead")
        logout(principal=principal, ip=client_ip(request))
        if principal.via == "session":
            django_logout(request._request)
        return Response(status=204)


class ValidateView(APIView):
    """The principal behind this request's credential: for other services and the remote
    binding (``AuthApi.validate`` is the in-process form)."""

    @extend_schema(
        operation_id="auth_validate",
        tags=["auth"],
        responses={200: PrincipalSerializer, **_UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        principal = _principal(request)
        return Response(
            PrincipalSerializer(
                {
                    "user_id": principal.user_id,
                    "username": principal.username,
                    "roles": list(principal.roles),
                    "role": principal.role,
                    "scopes": list(principal.scopes),
                    "via": principal.via,
                    "credential_id": principal.credential_id,
                }
            ).data
        )


class SessionListView(APIView):
    """The caller's open login sessions (each a family of tokens)."""

    @extend_schema(
        operation_id="auth_sessions_list",
        tags=["auth"],
        responses={200: SessionSerializer(many=True), **_UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        principal = _principal(request)
        sessions = [
            {
                "id": session.pk,
                "method": session.method,
                "created_at": session.created_at,
                "refreshed_at": session.refreshed_at,
                "expires_at": session.expires_at,
                "ip": session.ip,
                "user_agent": session.user_agent,
                "current": principal.via == "jwt" and principal.credential_id == str(session.pk),
            }
            for session in sessions_active(user_id=principal.user_id)
        ]
        return Response(SessionSerializer(sessions, many=True).data)


class SessionDetailView(APIView):
    """Revoke one of the caller's sessions: its access and refresh tokens stop working."""

    @extend_schema(
        operation_id="auth_sessions_revoke",
        tags=["auth"],
        parameters=[OpenApiParameter("session_id", str, OpenApiParameter.PATH)],
        responses={
            204: None,
            **_UNAUTHENTICATED,
            404: OpenApiResponse(ErrorSerializer, description="not one of your open sessions"),
        },
    )
    def delete(self, request: Request, session_id: str) -> Response:
        principal = _principal(request)
        if not session_revoke_own(
            principal=principal, session_id=session_id, ip=client_ip(request)
        ):
            raise NotFound("no such open session")
        return Response(status=204)


class ApiKeyListView(APIView):
    """The caller's API keys (never the key, never its hash), and creating one."""

    @extend_schema(
        operation_id="auth_api_keys_list",
        tags=["auth"],
        responses={200: ApiKeySerializer(many=True), **_UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        keys = api_keys_of(user_id=_principal(request).user_id)
        return Response(ApiKeySerializer([describe_key(key) for key in keys], many=True).data)

    @extend_schema(
        operation_id="auth_api_keys_create",
        tags=["auth"],
        request=ApiKeyCreateSerializer,
        responses={
            201: ApiKeyCreatedSerializer,
            **_BAD_BODY,
            **_UNAUTHENTICATED,
            403: OpenApiResponse(
                ErrorSerializer, description="scope_not_allowed: beyond your role or credential"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        principal = _principal(request)
        body = ApiKeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        expires_at = body.validated_data.get("expires_at")
        if body.validated_data.get("expires_in_days") is not None:
            expires_at = timezone.now() + timedelta(days=body.validated_data["expires_in_days"])
        row, key = api_key_create(
            user_id=principal.user_id,
            scopes=body.validated_data["scopes"],
            name=body.validated_data["name"],
            expires_at=expires_at,
            creator_scopes=principal.scopes,
            ip=client_ip(request),
        )
        return Response(ApiKeyCreatedSerializer({**describe_key(row), "key": key}).data, status=201)


class ApiKeyDetailView(APIView):
    """Revoke one of the caller's API keys."""

    @extend_schema(
        operation_id="auth_api_keys_revoke",
        tags=["auth"],
        parameters=[OpenApiParameter("key_id", str, OpenApiParameter.PATH)],
        responses={
            200: ApiKeySerializer,
            **_UNAUTHENTICATED,
            404: OpenApiResponse(ErrorSerializer, description="not one of your keys"),
        },
    )
    def delete(self, request: Request, key_id: str) -> Response:
        principal = _principal(request)
        key = api_key_get(key_id=key_id, user_id=principal.user_id)
        api_key_revoke(key=key, actor_id=principal.user_id, ip=client_ip(request))
        return Response(ApiKeySerializer(describe_key(key)).data)
