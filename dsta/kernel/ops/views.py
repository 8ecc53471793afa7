"""Liveness and readiness probes. Both need no identity (ARCHITECTURE.md's allowlist)."""

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from dsta.kernel.http import error_response
from dsta.kernel.ops.checks import configured_probes, run_checks

_SAFE_METHODS = ("GET", "HEAD")


def _method_not_allowed(request: HttpRequest) -> JsonResponse:
    response = error_response(
        "method_not_allowed", f'method "{request.method}" not allowed', status=405
    )
    response["Allow"] = ", ".join(_SAFE_METHODS)
    return response


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving; touches no database or server on purpose."""
    if request.method not in _SAFE_METHODS:
        return _method_not_allowed(request)
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Every dependency this process needs answers: 200 with each check, or 503 naming the
    ones that failed (in the one error format)."""
    if request.method not in _SAFE_METHODS:
        return _method_not_allowed(request)
    results = run_checks(configured_probes(), timeout=settings.DSTA_READYZ_TIMEOUT_SECONDS)
    checks = {name: result.as_dict() for name, result in results.items()}
    failed = [name for name, result in results.items() if not result.healthy]
    if failed:
        response = error_response(
            "service_unavailable",
            f"not ready: {', '.join(failed)}",
            status=503,
            details={"failed": failed, "checks": checks},
        )
    else:
        response = JsonResponse({"status": "ok", "checks": checks})
    # A probe must see the current state, never a cached one.
    response["Cache-Control"] = "no-store"
    return response
