"""Each api operation on a venue through its breaker, with retries only where they are safe.

- ``read``: market data, balances, lookups, and cancels (cancelling twice is harmless): retried
  on ``VenueUnavailable``/``VenueRateLimited`` with full-jitter backoff (``retry.py``).
- ``place``: creating an order is never sent twice blindly. When an attempt ends with an unknown
  outcome (timeout, connection lost, 5xx, an unreadable answer, even a 429) the order is looked
  up by our client order id first: found, it is the answer. Not found after
  ``lookup_attempts`` lookups, it is sent again only when the failed attempt provably never
  reached the venue (the connection was never made: ``details.sent = False``) or the venue
  refused it unprocessed (a 429); otherwise venues lag after a create (Binance's "execution
  status unknown" may still execute) and accept the client order id of an order that is done,
  so a resend could execute twice: the call fails with ``outcome = "unknown"``.
  If the lookups themselves cannot reach the venue, the call fails with ``VenueUnavailable``
  carrying ``details.outcome = "unknown"`` and the client order id, for reconciliation later.
  A ``DuplicateOrder`` answer means an earlier attempt landed: it is fetched, not re-placed.
  A ``ClockSkew`` refusal (the adapter already resynced the clock and sent once more) is final:
  the venue refused the order before processing it, so it fails with ``outcome = "not_placed"``
  and no lookup.

Every attempt passes the breaker; a venue fault counts as a breaker failure, a venue answer
(even a refusal, a clock-skew one included: the venue is up, our clock is not) as a success.
"""

import random
import time
from collections.abc import Callable
from typing import TypeVar

from domains.exchange.api import (
    ClockSkew,
    DuplicateOrder,
    ExchangeFailure,
    OrderAck,
    OrderNotFound,
    VenueRateLimited,
    VenueUnavailable,
)
from domains.exchange.services.resilience.breaker import CircuitBreaker
from domains.exchange.services.resilience.retry import RetryPolicy, retry_after_of

T = TypeVar("T")


class VenueGuard:
    def __init__(
        self,
        *,
        venue: str,
        breaker: CircuitBreaker,
        policy: RetryPolicy | Callable[[], RetryPolicy] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        """``policy`` may be a callable: the venue's current policy, read at each call (an
        admin's change applies to clients made before it)."""
        self.venue = venue
        self.breaker = breaker
        self._policy = policy or RetryPolicy()
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)

    @property
    def policy(self) -> RetryPolicy:
        return self._policy() if callable(self._policy) else self._policy

    # --- one attempt ----------------------------------------------------------------------

    def attempt(self, call: Callable[[], T]) -> T:
        """``call`` once, through the breaker, reporting the outcome to it."""
        probe = self.breaker.before_call()
        try:
            result = call()
        except VenueRateLimited as error:
            if _from_limiter(error):
                self.breaker.record_neutral(probe)  # nothing was sent
            else:
                self.breaker.record_success()  # the venue answered: it is alive, only busy
            raise
        except VenueUnavailable as error:
            details = error.details if isinstance(error.details, dict) else {}
            if details.get("disabled"):
                self.breaker.record_neutral(probe)
            else:
                self.breaker.record_failure(
                    str(details.get("venue_error") or error.code) + ": " + error.message[:120]
                )
            raise
        except ExchangeFailure as error:
            if _answered_by_venue(error):
                self.breaker.record_success()  # a refusal is an answer
            else:
                # Refused by our own checks (unknown symbol, below minimum): the venue was
                # never asked, so this says nothing about its health.
                self.breaker.record_neutral(probe)
            raise
        except BaseException:
            self.breaker.record_neutral(probe)
            raise
        self.breaker.record_success()
        return result

    # --- operations -----------------------------------------------------------------------

    def read(self, call: Callable[[], T]) -> T:
        """A read (or a cancel): retried while the error is safe to retry."""
        attempt = 0
        while True:
            try:
                return self.attempt(call)
            except ExchangeFailure as error:
                attempt += 1
                delay = self.policy.delay(attempt - 1, error, self.rng)
                if delay is None or attempt >= self.policy.attempts:
                    raise
                self.sleep(delay)

    def place(
        self,
        send: Callable[[], OrderAck],
        lookup: Callable[[], OrderAck],
        *,
        client_order_id: str,
    ) -> OrderAck:
        """Create an order at most once (see the module docstring)."""
        placements = 0
        while True:
            placements += 1
            try:
                return self.attempt(send)
            except DuplicateOrder:
                return self._lookup_landed(lookup, client_order_id)
            except ClockSkew as error:
                raise _with_outcome(error, client_order_id, "not_placed") from error
            except (VenueUnavailable, VenueRateLimited) as error:
                if _nothing_sent(error):
                    raise  # breaker open, venue off, our own limiter: the order never left
                found = self._reconcile(lookup, client_order_id, error)
                if found is not None:
                    return found
                if not _unprocessed(error):
                    # "Not found" may be the venue lagging: it may still land (or have landed
                    # and ended). Only a later lookup (the reconciler) can tell.
                    raise _with_outcome(error, client_order_id, "unknown") from error
                if placements >= self.policy.order_attempts:
                    raise _with_outcome(error, client_order_id, "not_placed") from error
                delay = self.policy.delay(placements - 1, error, self.rng)
                if delay is None:
                    raise _with_outcome(error, client_order_id, "not_placed") from error
                self.sleep(delay)

    # --- reconciliation -------------------------------------------------------------------

    def _reconcile(
        self, lookup: Callable[[], OrderAck], client_order_id: str, cause: ExchangeFailure
    ) -> OrderAck | None:
        """The order if the venue has it; None when the venue says it has not (the last of
        ``lookup_attempts`` lookups answered "no such order"); ``VenueUnavailable`` (or
        ``VenueRateLimited``) with ``outcome = unknown`` when the venue cannot be asked."""
        delay = retry_after_of(cause) or 0.0
        last_error: ExchangeFailure | None = cause
        for lookup_attempt in range(self.policy.lookup_attempts):
            if delay > self.policy.max_retry_after:
                break
            if delay > 0:
                self.sleep(delay)
            try:
                return self.attempt(lookup)
            except OrderNotFound:
                last_error = None  # not there (yet): venues lag a little after a create
                delay = self.policy.backoff(lookup_attempt, self.rng)
            except (VenueUnavailable, VenueRateLimited) as error:
                last_error = error
                if _nothing_sent(error) and not _from_limiter(error):
                    break  # breaker open or venue switched off: it cannot be asked now
                retry_delay = self.policy.delay(lookup_attempt, error, self.rng)
                if retry_delay is None:
                    break
                delay = retry_delay
        if last_error is None:
            return None
        raise _with_outcome(last_error, client_order_id, "unknown") from last_error

    def _lookup_landed(self, lookup: Callable[[], OrderAck], client_order_id: str) -> OrderAck:
        try:
            return self.read(lookup)
        except OrderNotFound as error:
            raise DuplicateOrder(
                f"{self.venue} says order {client_order_id!r} exists but cannot find it",
                details={"venue": self.venue, "client_order_id": client_order_id},
            ) from error


def _answered_by_venue(error: ExchangeFailure) -> bool:
    """Errors normalised from a venue's response carry the venue's error class name."""
    return isinstance(error.details, dict) and "venue_error" in error.details


def _from_limiter(error: ExchangeFailure) -> bool:
    return isinstance(error.details, dict) and error.details.get("source") == "limiter"


def _unprocessed(error: ExchangeFailure) -> bool:
    """The failed create provably did not reach the venue's matching (safe to send again once
    the lookups found nothing): the connection was never made, or the venue's own rate limit
    refused it (a 429/418 is a refusal before processing)."""
    details = error.details if isinstance(error.details, dict) else {}
    if isinstance(error, VenueRateLimited):
        return True
    return details.get("sent") is False


def _nothing_sent(error: ExchangeFailure) -> bool:
    details = error.details if isinstance(error.details, dict) else {}
    return bool(details.get("breaker") or details.get("disabled") or _from_limiter(error))


def _with_outcome(error: ExchangeFailure, client_order_id: str, outcome: str) -> ExchangeFailure:
    details = dict(error.details) if isinstance(error.details, dict) else {}
    details.update(client_order_id=client_order_id, outcome=outcome)
    what = (
        "the order was not placed"
        if outcome == "not_placed"
        else "the order's outcome is unknown: look it up by client_order_id"
    )
    return type(error)(f"{error.message} ({what})", details=details)
