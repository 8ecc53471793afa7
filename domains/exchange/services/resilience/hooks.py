"""What happens around each HTTP request to a venue (the ``RequestHooks`` of ``ccxt_hooks``).

Before: the venue must be enabled, and the request waits for rate-limit tokens in every bucket
it charges (venue weight, the credential's orders), up to ``max_wait``; past that it is refused
with ``VenueRateLimited`` (``details.source = "limiter"``) and nothing is sent.

After: the outcome goes to the health monitor; a network error or 5xx moves the venue to its
next host; a 429/418 blocks the venue's buckets for its ``Retry-After`` in every process (the
venue counts per IP: one process's excess bans all of them); the request is logged, redacted.
"""

from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from uuid import UUID

from domains.exchange.adapters.ccxt_hooks import ExchangeRecord, OutgoingRequest
from domains.exchange.api import VenueRateLimited, VenueUnavailable
from domains.exchange.services.request_log import request_log_write
from domains.exchange.services.resilience.ratelimit import CostTooLarge, Saturated

if TYPE_CHECKING:
    from domains.exchange.services.resilience.runtime import VenueRuntime

# When a 429/418 names no Retry-After: back off this long (Binance always sends one).
DEFAULT_PENALTY_SECONDS = 1.0


class VenueRequestHooks:
    """The hooks of one ccxt exchange instance (one venue, at most one credential)."""

    def __init__(
        self,
        runtime: "VenueRuntime",
        *,
        credential_id: str | None = None,
        account_id: UUID | None = None,
        secrets: tuple[str, ...] = (),
        now: Callable[[], float] | None = None,
    ) -> None:
        self.runtime = runtime
        self.credential_id = credential_id
        self.account_id = account_id
        self.secrets = secrets
        self.now = now or runtime.clock

    def before_request(self, request: OutgoingRequest) -> None:
        settings = self.runtime.settings
        if not settings.enabled:
            raise VenueUnavailable(
                f"{request.venue} is switched off by an admin; nothing was sent",
                details={"venue": request.venue, "disabled": True},
            )
        charges = settings.charges(request)
        try:
            self.runtime.throttle(settings.max_wait).acquire(charges)
        except Saturated as saturated:
            raise VenueRateLimited(
                f"{request.venue}: rate limit reached; no token within {settings.max_wait:g}s "
                "(nothing was sent)",
                details={
                    "venue": request.venue,
                    "retry_after": round(saturated.retry_after, 3),
                    "source": "limiter",
                },
            ) from None
        except CostTooLarge as error:
            raise VenueRateLimited(
                f"{request.venue}: {error} (nothing was sent)",
                details={"venue": request.venue, "source": "limiter"},
            ) from None

    def route(self, url: str) -> str:
        return self.runtime.hosts.route(url)

    def after_response(self, request: OutgoingRequest, record: ExchangeRecord) -> None:
        self.runtime.health.record_success(
            request.venue, latency=record.latency, host=urlsplit(record.url).hostname
        )
        self._log(request, record, None)

    def after_error(
        self, request: OutgoingRequest, record: ExchangeRecord, error: BaseException
    ) -> None:
        venue = request.venue
        host = urlsplit(record.url).hostname
        status = record.status
        if status in (418, 429):
            seconds = _retry_after(record.response_headers, self.now) or DEFAULT_PENALTY_SECONDS
            self.runtime.penalize(seconds)
            self.runtime.health.record_failure(
                venue, error=f"HTTP {status}: rate limited for {seconds:g}s", host=host
            )
        elif status is None or status >= 500 or record.malformed:
            self.runtime.hosts.failed(record.url)
            described = type(error).__name__ if status is None else f"HTTP {status}"
            if record.malformed:
                described += " with malformed JSON"
            self.runtime.health.record_failure(
                venue, error=described, latency=record.latency, host=host
            )
        else:
            # A 4xx refusal (bad order, funds): the venue is up and answered.
            self.runtime.health.record_success(venue, latency=record.latency, host=host)
        self._log(request, record, error)

    def _log(
        self, request: OutgoingRequest, record: ExchangeRecord, error: BaseException | None
    ) -> None:
        settings = self.runtime.settings
        if not settings.log_requests:
            return
        costs = {c.bucket.key.rsplit(":", 1)[-1]: c.cost for c in settings.charges(request)}
        request_log_write(
            request=request,
            record=record,
            account_id=self.account_id,
            secrets=self.secrets,
            costs=costs,
            error=error,
        )


def _retry_after(headers: object, now: Callable[[], float]) -> float | None:
    """Seconds from a ``Retry-After`` header: a number, or an HTTP date (RFC 9110)."""
    if not isinstance(headers, dict):
        return None
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        return max(0.0, parsedate_to_datetime(str(value)).timestamp() - now())
    except (TypeError, ValueError):
        return None
