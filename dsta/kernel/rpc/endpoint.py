"""The one internal endpoint that serves every locally registered api over HTTP.

``POST /internal/rpc/<service>/<method>`` with a JSON object of keyword arguments answers
``{"result": ...}`` or ``{"error": {"code", "message", "details"}}`` with the error's status.
It is off (404, as if it did not exist) unless ``settings.DSTA_SERVICE_TOKEN`` is set, and
refuses a call without ``Authorization: Bearer <token>`` with 401. Its own docs and schema are
disabled and it is not a DRF view, so the public OpenAPI schema never shows it.

Import this module only after Django is set up (django-ninja reads settings at import).
"""

import hmac
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI

from dsta.kernel.errors import DstaError
from dsta.kernel.http import error_body, error_response
from dsta.kernel.rpc.caller import CALLER_HEADER, serving_remote_call
from dsta.kernel.rpc.client import RPC_MARKER_HEADER
from dsta.kernel.rpc.errors import BadServiceToken
from dsta.kernel.rpc.registry import load_extra_modules, local_method

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="DSTA internal RPC",
    version="1",
    urls_namespace="internal-rpc",
    docs_url=None,
    openapi_url=None,
)


# Every verb routes here so that, while the endpoint is off, no verb reveals it exists.
@api.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{service}/{method}", include_in_schema=False
)
def call(request: HttpRequest, service: str, method: str) -> HttpResponse:
    """Dispatch one call to the local implementation of ``service``."""
    token = settings.DSTA_SERVICE_TOKEN
    if not token:
        return error_response("not_found", f"no route for {request.path}", 404)
    response = _dispatch(request, token, service, method)
    response[RPC_MARKER_HEADER] = "1"
    return response


def _dispatch(request: HttpRequest, token: str, service: str, method: str) -> HttpResponse:
    try:
        _check_token(request, token)
        if request.method != "POST":
            return error_response("method_not_allowed", "rpc calls are POST", 405)
        load_extra_modules()
        spec, implementation = local_method(service, method)
        kwargs = spec.decode_arguments(request.body)
        # The token is valid, so the caller the remote process names is believed (caller.py).
        with serving_remote_call(request.headers.get(CALLER_HEADER)):
            result = implementation(**kwargs)
        return HttpResponse(spec.encode_result(result), content_type="application/json")
    except DstaError as exc:
        # The implementation's own errors cross the wire by code, like the registry's.
        return JsonResponse(exc.as_dict(), status=exc.status)
    except RequestDataTooBig as exc:
        return JsonResponse(error_body("payload_too_large", str(exc)), status=413)
    except Exception:
        logger.exception("rpc call %s.%s failed", service, method)
        return error_response("internal_error", "internal error; see the server log", 500)


def _check_token(request: HttpRequest, token: str) -> None:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    # Constant-time comparison: the token is a shared secret between our processes.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        presented.strip().encode(), token.encode()
    ):
        raise BadServiceToken("a valid service token is required")
