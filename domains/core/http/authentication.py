"""DRF authentication classes, wired in by the composition root's settings
(``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]``). Each puts a kernel ``Principal`` on
``request.auth``; the kernel's permission checks read it, so no domain imports this module.

Token and key checks go through ``auth_api()``: in-process, or the remote core when
``DSTA_REMOTE_CORE_URL`` is set. A refused credential is a 401 whose error code says why
(``token_expired``, ``token_revoked``, ``api_key_revoked``...).
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request

from domains.core.api import auth_api
from domains.core.services.auth import API_KEY, BEARER, split_authorization
from dsta.kernel.errors import ServiceUnavailable, Unauthenticated
from dsta.kernel.permissions import principal_from_user
from dsta.kernel.principal import Principal, PrincipalUser


class AuthenticationUnavailable(exceptions.APIException):
    """The credential could not be checked (the remote core is down): 503, not 401."""

    status_code = 503
    default_detail = "authentication is unavailable; try again shortly"
    default_code = "service_unavailable"


class _AuthorizationHeaderAuthentication(BaseAuthentication):
    """Authenticates ``Authorization: <scheme> <credential>`` for one scheme."""

    scheme = ""
    www_authenticate = ""

    def authenticate(self, request: Request) -> tuple[PrincipalUser, Principal] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, credential = split_authorization(header)
        if scheme != self.scheme:
            return None  # another class's scheme, or no header at all
        if not credential:
            raise exceptions.AuthenticationFailed(
                f"the Authorization header has no {self.scheme} credential", code="token_invalid"
            )
        try:
            principal = auth_api().validate(authorization=header)
        except Unauthenticated as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from exc
        except ServiceUnavailable as exc:
            raise AuthenticationUnavailable() from exc
        return PrincipalUser(principal), principal

    def authenticate_header(self, request: Request) -> str:
        return self.www_authenticate


class BearerTokenAuthentication(_AuthorizationHeaderAuthentication):
    """``Authorization: Bearer <access token>`` (from ``POST /api/v1/auth/login``)."""

    scheme = BEARER
    www_authenticate = 'Bearer realm="api"'


class ApiKeyAuthentication(_AuthorizationHeaderAuthentication):
    """``Authorization: Api-Key <key>`` (from ``POST /api/v1/auth/api-keys``)."""

    scheme = API_KEY
    www_authenticate = 'Api-Key realm="api"'


class PrincipalSessionAuthentication(SessionAuthentication):
    """Django's session (admin, dashboard), with CSRF checks on unsafe methods as DRF does;
    the principal carries the user's roles and every scope of them."""

    def authenticate(self, request: Request) -> tuple[Any, Principal] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        return user, principal_from_user(user, via="session")


# --- OpenAPI: how the schema describes these classes (registered on import) ------------------


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "'Api-Key <key>' (keys from POST /api/v1/auth/api-keys)",
        }


class PrincipalSessionScheme(OpenApiAuthenticationExtension):
    target_class = PrincipalSessionAuthentication
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
