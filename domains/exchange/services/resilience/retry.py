"""Which venue errors may be retried, and how long to wait before the next try.

Only errors that say nothing happened, or that the venue is busy, are retried (see
shared/design/EXCHANGES.md): network errors, timeouts, 5xx and unreadable responses
(``VenueUnavailable``) and the venue's rate limits (``VenueRateLimited``, honouring its
``Retry-After``). Refusals (invalid order, insufficient funds, auth) are final. Two kinds of
``VenueUnavailable`` are not retried here: an open breaker (it says when to come back) and a
venue an admin switched off. Nor is ``ClockSkew``: the adapter already measured the venue's
clock again and retried once; more tries would meet the same clock. Creating an order is never
retried by this rule alone: the guard looks the order up by its client order id first.

Backoff is exponential with full jitter (AWS architecture blog, "Exponential Backoff And
Jitter"): ``uniform(0, min(max_delay, base_delay * 2**attempt))``, so many clients retrying at
once spread out instead of arriving together.
"""

import random
from dataclasses import dataclass

from domains.exchange.api import ExchangeFailure, VenueRateLimited, VenueUnavailable


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries of a read in all (freqtrade retries reads 4 times)
    base_delay: float = 0.25  # seconds
    max_delay: float = 8.0
    max_retry_after: float = 30.0  # a venue asking for a longer pause fails the call instead
    order_attempts: int = 2  # placements of one order (each after a lookup found nothing)
    lookup_attempts: int = 3  # lookups by client order id after an unknown outcome

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter delay before retry number ``attempt + 1`` (attempt counts from 0)."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return rng.uniform(0, ceiling)

    def delay(self, attempt: int, error: ExchangeFailure, rng: random.Random) -> float | None:
        """Seconds to wait before retrying after ``error``, or None when it must not be."""
        if not retryable(error):
            return None
        delay = self.backoff(attempt, rng)
        retry_after = retry_after_of(error)
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            delay = max(delay, retry_after)
        return delay


def retryable(error: ExchangeFailure) -> bool:
    """Whether ``error`` is safe to retry for a read (or a cancel, which is idempotent)."""
    details = error.details if isinstance(error.details, dict) else {}
    if details.get("breaker") or details.get("disabled") or details.get("source") == "limiter":
        return False
    return isinstance(error, VenueUnavailable | VenueRateLimited)


def retry_after_of(error: ExchangeFailure) -> float | None:
    """The venue's (or breaker's) ``Retry-After`` in seconds, when it gave one."""
    details = error.details if isinstance(error.details, dict) else {}
    value = details.get("retry_after")
    try:
        seconds = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return seconds if seconds is not None and seconds >= 0 else None
