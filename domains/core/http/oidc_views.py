"""``/api/v1/auth/oidc/login`` and ``/callback``: sign-in through an OpenID Connect provider.

The login view redirects the browser to the provider and binds the sign-in to the browser with
a short-lived HttpOnly cookie holding the state; the callback checks it, finishes the flow in
the service, starts a Django session (the dashboard) and answers the token pair as JSON, or
redirects to ``next`` (a local path) when the sign-in started with one.
"""

from typing import Any

from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.core.api import OidcFailed
from domains.core.http.auth_serializers import TokenPairSerializer
from domains.core.http.auth_views import start_django_session, token_pair
from domains.core.http.serializers import ErrorSerializer
from domains.core.services import auth_settings
from domains.core.services.clients import client_ip, client_user_agent
from domains.core.services.oidc import STATE_TTL_SECONDS, oidc_begin, oidc_complete
from dsta.kernel.errors import InvalidInput

STATE_COOKIE = "dsta_oidc_state"
COOKIE_PATH = "/api/v1/auth/oidc/"


def _redirect_uri(request: Request) -> str:
    return auth_settings.oidc_redirect_uri() or request.build_absolute_uri(
        reverse("auth-oidc-callback")
    )


class OidcLoginView(APIView):
    """Redirect to the identity provider (authorization code flow, PKCE, state, nonce)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_oidc_login",
        tags=["auth"],
        parameters=[OpenApiParameter("next", str, description="Local path to land on after.")],
        responses={
            302: OpenApiResponse(description="to the provider's authorization endpoint"),
            400: OpenApiResponse(ErrorSerializer, description="next is not a local path"),
            404: OpenApiResponse(ErrorSerializer, description="oidc_not_configured"),
            503: OpenApiResponse(ErrorSerializer, description="oidc_provider_unavailable"),
        },
    )
    def get(self, request: Request) -> HttpResponseRedirect:
        next_url = request.query_params.get("next", "")
        if next_url and not (
            next_url.startswith("/")
            and url_has_allowed_host_and_scheme(next_url, allowed_hosts=None)
        ):
            raise InvalidInput("next must be a local path like /dashboard/")
        url, state = oidc_begin(redirect_uri=_redirect_uri(request), next_url=next_url)
        response = HttpResponseRedirect(url)
        # Lax: the provider's redirect back is a top-level GET, which carries Lax cookies.
        response.set_cookie(
            STATE_COOKIE,
            state,
            max_age=STATE_TTL_SECONDS,
            path=COOKIE_PATH,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
        return response


class OidcCallbackView(APIView):
    """Where the provider sends the browser back: finish the sign-in."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_oidc_callback",
        tags=["auth"],
        parameters=[
            OpenApiParameter("code", str, description="The provider's authorization code."),
            OpenApiParameter("state", str, description="The state sent to the provider."),
        ],
        responses={
            200: TokenPairSerializer,
            302: OpenApiResponse(description="to the next path given at login"),
            401: OpenApiResponse(ErrorSerializer, description="oidc_failed (details say why)"),
            404: OpenApiResponse(ErrorSerializer, description="oidc_not_configured"),
            503: OpenApiResponse(ErrorSerializer, description="oidc_provider_unavailable"),
        },
    )
    def get(self, request: Request) -> Response | HttpResponseRedirect:
        params = request.query_params
        error = params.get("error", "")
        if error:
            raise OidcFailed(
                "the identity provider refused the sign-in", details={"error": error[:100]}
            )
        login = oidc_complete(
            state=params.get("state", ""),
            code=params.get("code", ""),
            browser_state=request.COOKIES.get(STATE_COOKIE, ""),
            ip=client_ip(request),
            user_agent=client_user_agent(request),
        )
        start_django_session(request, login.user)
        response: Response | HttpResponseRedirect
        if login.next_url:
            response = HttpResponseRedirect(login.next_url)
        else:
            response = Response(token_pair(login.tokens))
        response.delete_cookie(STATE_COOKIE, path=COOKIE_PATH)
        return response
