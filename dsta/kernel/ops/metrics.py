"""``/metrics``: django-prometheus' exporter behind the service token.

It exports the default prometheus_client registry, so any counter defined anywhere in the
process (the bus's, the jobs') shows up. Answers 404 while no ``DSTA_SERVICE_TOKEN`` is
configured (the endpoint does not exist), 401 for a missing or wrong bearer token.
"""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_prometheus.exports import ExportToDjangoView

from dsta.kernel.http import error_response


def bearer_token_matches(request: HttpRequest, expected: str) -> bool:
    """Whether the request carries ``Authorization: Bearer <expected>`` (constant time)."""
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not expected:
        return False
    return hmac.compare_digest(supplied.strip().encode(), expected.encode())


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition of the process's metrics, for the service token only."""
    token: str = settings.DSTA_SERVICE_TOKEN
    if not token:
        return error_response("not_found", f"no route for {request.path}", status=404)
    if not bearer_token_matches(request, token):
        response = error_response(
            "unauthenticated", "a valid service token is required", status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    exported: HttpResponse = ExportToDjangoView(request)
    return exported
