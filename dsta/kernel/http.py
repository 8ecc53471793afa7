"""The one error format for every HTTP endpoint: ``{"error": {"code", "message", "details"}}``.

DRF views use :func:`exception_handler`; plain Django views (health, RPC, 404/500 handlers)
use :func:`error_response`. Bad input never becomes a 500.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default_handler

from dsta.kernel.errors import DstaError, RateLimited

logger = logging.getLogger(__name__)

_DRF_CODES: dict[type[Exception], str] = {
    drf.ValidationError: "invalid_input",
    drf.ParseError: "malformed_request",
    drf.NotAuthenticated: "unauthenticated",
    drf.AuthenticationFailed: "unauthenticated",
    drf.PermissionDenied: "forbidden",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "rate_limited",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(code: str, message: str, status: int, details: Any = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: renders our errors and DRF's in the one format."""
    if isinstance(exc, DstaError):
        rendered = Response(exc.as_dict(), status=exc.status)
        # A rate limit that knows when it ends says so the standard way too.
        retry_after = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
        if isinstance(exc, RateLimited) and isinstance(retry_after, int | float):
            rendered["Retry-After"] = str(max(1, int(retry_after)))
        return rendered
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("payload_too_large", str(exc)), status=413)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    response = drf_default_handler(exc, context)
    if response is None or not isinstance(exc, drf.APIException):
        return response
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    # A DRF exception raised with its own code (AuthenticationFailed(..., code="token_expired"))
    # keeps that code: it is the reason a client can act on.
    specific = exc.get_codes()
    if isinstance(specific, str) and specific != exc.default_code:
        code = specific
    if isinstance(exc, drf.ValidationError):
        message, details = "request failed validation", response.data
    else:
        message, details = str(exc.detail), None
    response.data = error_body(code, message, details)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's handler400: suspicious requests, and oversize bodies read outside a view."""
    if isinstance(exception, RequestDataTooBig):
        return error_response("payload_too_large", str(exception), 413)
    return error_response("malformed_request", "bad request", 400)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response("not_found", f"no route for {request.path}", 404)


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response("internal_error", "internal error; see the server log", 500)
