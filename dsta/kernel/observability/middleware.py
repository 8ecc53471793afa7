"""Gives every request an id (taken from ``X-Request-ID`` when a proxy set one)."""

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from dsta.kernel.observability.context import new_request_id, request_id_var

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else new_request_id()
        # Also on the request: Django logs 4xx/5xx responses ("django.request") after every
        # middleware has returned, when the context variable is reset already.
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response
