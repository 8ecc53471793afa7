"""Request throttling keyed on the principal: per user (JWT, session) and per API key.

Rates come from ``settings.DSTA_THROTTLE_RATES`` (``{"user": "1200/min", "api_key": "600/min",
"anon": "120/min"}``), read on every request so a test or a settings change applies at once;
a rate of None turns that throttle off. Counters live in the default cache (Redis in
production, so every web process shares them). A throttled request answers 429 with
``Retry-After`` (DRF adds the header from :meth:`wait`).
"""

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from dsta.kernel.permissions import principal_of


def _rate(scope: str) -> str | None:
    rates: dict[str, str | None] = getattr(settings, "DSTA_THROTTLE_RATES", {})
    return rates.get(scope)


class _SettingsRateThrottle(SimpleRateThrottle):
    """A SimpleRateThrottle whose scope and rate are chosen per request, not per class."""

    def __init__(self) -> None:
        # DRF resolves the rate in __init__ from a class-level scope; ours depends on the
        # request, so it is resolved in allow_request instead.
        self.rate: str | None = None
        self.num_requests: int | None = None
        self.duration: int | None = None

    def _use(self, scope: str) -> bool:
        """Configure this throttle for ``scope``; False when that scope has no rate."""
        self.scope = scope
        self.rate = _rate(scope)
        if self.rate is None:
            return False
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return True


class PrincipalRateThrottle(_SettingsRateThrottle):
    """Per-key for API-key requests, per-user for every other authenticated request."""

    def allow_request(self, request: Request, view: Any) -> bool:
        principal = principal_of(request)
        if principal is None:
            return True  # AnonymousRateThrottle's job
        scope = "api_key" if principal.via == "api_key" else "user"
        if not self._use(scope):
            return True
        return bool(super().allow_request(request, view))

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        principal = principal_of(request)
        if principal is None:
            return None
        if principal.via == "api_key" and principal.credential_id:
            ident = f"key:{principal.credential_id}"
        else:
            ident = f"user:{principal.user_id}"
        return f"throttle:{self.scope}:{ident}"


class AnonymousRateThrottle(_SettingsRateThrottle):
    """Per client address for requests nobody authenticated (login, refresh, register)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if principal_of(request) is not None or not self._use("anon"):
            return True
        return bool(super().allow_request(request, view))

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return f"throttle:anon:{self.get_ident(request)}"
