"""Refuse oversize request bodies with 413 in the one error format, for every view.

Django enforces ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when ``request.body`` or ``request.POST``
is read, and then as a 400. DRF's parsers read the request as a stream and never trigger that
check at all, so without this middleware an oversize JSON body would be parsed whole. Here the
declared ``Content-Length`` is checked before any view runs (both WSGI and ASGI bound the body
they hand Django by that header). Multipart bodies are left to Django's own check, which
excludes file data; a ``RequestDataTooBig`` raised by a view is rendered as 413 too.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from dsta.kernel.http import error_response


def payload_too_large(limit: int | None) -> JsonResponse:
    """The 413 response for a body over ``limit`` bytes."""
    return error_response(
        "payload_too_large",
        f"request body exceeds the limit of {limit} bytes",
        status=413,
        details={"limit_bytes": limit},
    )


class RequestBodyLimitMiddleware:
    """413 for declared bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``None`` disables)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        content_type = request.content_type or ""
        if limit is not None and not content_type.startswith("multipart/"):
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_response(
                    "malformed_request", "Content-Length is not a number", status=400
                )
            if declared > limit:
                return payload_too_large(limit)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view that read an oversize body (multipart fields, say) answers 413, not 400."""
        if isinstance(exception, RequestDataTooBig):
            return payload_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return None
