"""The resilience of this process: one limiter, breaker store and health monitor, and per venue
the objects every ccxt client of that venue shares (breaker, host rotation, throttle).

``default_runtime()`` builds it from the settings: with ``REDIS_URL`` the rate limits and
breakers are shared by every process through Redis (falling back to in-process state while
Redis does not answer); without it everything is in-process (the embedded mode). Tests build
their own with a manual clock and sleep.
"""

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import redis
from django.conf import settings as django_settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from domains.exchange.adapters.ccxt_clock import ClockOffset
from domains.exchange.api import RateLimitUsage, VenueStatus
from domains.exchange.events import VenueStatusChanged
from domains.exchange.services.resilience.breaker import (
    BreakerState,
    BreakerStore,
    CircuitBreaker,
    FallbackBreakerStore,
    LocalBreakerStore,
    RedisBreakerStore,
    Transition,
)
from domains.exchange.services.resilience.config import SettingsSource
from domains.exchange.services.resilience.failover import HostRotation
from domains.exchange.services.resilience.guard import VenueGuard
from domains.exchange.services.resilience.health import HealthMonitor
from domains.exchange.services.resilience.hooks import VenueRequestHooks
from domains.exchange.services.resilience.ratelimit import (
    FallbackLimiter,
    Limiter,
    LocalLimiter,
    RedisLimiter,
    Throttle,
)
from domains.exchange.services.resilience.venues import VenueSettings
from dsta.kernel.bus import Event, publish

# Seconds a Redis call may take before the local fallback is used: a trading call must not
# hang on its rate limiter.
REDIS_SOCKET_TIMEOUT = 0.25


class ResilienceRuntime:
    def __init__(
        self,
        *,
        limiter: Limiter | None = None,
        breaker_store: BreakerStore | None = None,
        health: HealthMonitor | None = None,
        settings_for: Callable[[str], VenueSettings] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        report: Callable[[Event], None] = publish,
    ) -> None:
        """``clock`` is wall time in seconds (breakers, Retry-After dates), ``monotonic`` times
        the throttle's waits (default: ``clock`` when one is injected, else time.monotonic)."""
        self.limiter = limiter or FallbackLimiter(None, LocalLimiter(clock=clock))
        self.breaker_store = breaker_store or LocalBreakerStore()
        self.health = health or HealthMonitor(now=lambda: datetime.fromtimestamp(clock(), UTC))
        self.settings_for = settings_for or SettingsSource()
        self.clock = clock
        self.monotonic = monotonic or (clock if clock is not time.time else time.monotonic)
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
        self.report = report
        self._venues: dict[str, VenueRuntime] = {}
        self._lock = threading.Lock()

    def venue(self, venue: str) -> "VenueRuntime":
        """The shared resilience objects of ``venue`` (made on first use)."""
        with self._lock:
            runtime = self._venues.get(venue)
            if runtime is None:
                self.settings_for(venue)  # UnknownVenue before anything is built
                runtime = self._venues[venue] = VenueRuntime(self, venue)
            return runtime


class VenueRuntime:
    """Breaker, hosts, throttle, clock offset and status of one venue in this process."""

    def __init__(self, runtime: ResilienceRuntime, venue: str) -> None:
        self.runtime = runtime
        self.venue = venue
        self.health = runtime.health
        self.clock = runtime.clock
        settings = self.settings
        self._hosts = HostRotation(settings.hosts)
        self.breaker = CircuitBreaker(
            venue,
            settings=lambda: self.settings.breaker,
            store=runtime.breaker_store,
            clock=runtime.clock,
            on_transition=self._breaker_changed,
        )
        # Our clock against the venue's: measured by its clients, used by all of them.
        self.clock_offset = ClockOffset(clock=runtime.clock)

    @property
    def settings(self) -> VenueSettings:
        return self.runtime.settings_for(self.venue)

    @property
    def hosts(self) -> HostRotation:
        hosts = self.settings.hosts
        if hosts != self._hosts.hosts:  # an admin changed them
            self._hosts = HostRotation(hosts)
        return self._hosts

    def throttle(self, max_wait: float) -> Throttle:
        return Throttle(
            self.runtime.limiter,
            max_wait=max_wait,
            sleep=self.runtime.sleep,
            clock=self.runtime.monotonic,
        )

    def penalize(self, seconds: float) -> None:
        """Send nothing on this venue's shared buckets for ``seconds`` (a 429/418)."""
        buckets = [
            bucket
            for spec in self.settings.buckets
            if (bucket := spec.bucket(self.venue, None)) is not None
        ]
        self.runtime.limiter.penalize(buckets, seconds)

    def hooks(
        self,
        *,
        credential_id: str | None = None,
        account_id: UUID | None = None,
        secrets: tuple[str, ...] = (),
    ) -> VenueRequestHooks:
        """The per-request hooks of one ccxt client of this venue."""
        return VenueRequestHooks(
            self, credential_id=credential_id, account_id=account_id, secrets=secrets
        )

    def guard(self) -> VenueGuard:
        """The per-operation breaker and retry rules of this venue."""
        return VenueGuard(
            venue=self.venue,
            breaker=self.breaker,
            policy=lambda: self.settings.retry,
            sleep=self.runtime.sleep,
            rng=self.runtime.rng,
        )

    def websocket_changed(self, *, up: bool, reason: str = "") -> None:
        """A stream of this venue connected or dropped: health, and a durable event."""
        previous = self.health.snapshot(self.venue).websocket
        self.health.record_websocket(self.venue, up=up, reason=reason)
        status = "up" if up else "down"
        if previous != status:
            self._report("websocket", status, previous, reason)

    def status(self) -> VenueStatus:
        settings = self.settings
        record = self.health.snapshot(self.venue)
        breaker = self.breaker.state()
        usage = []
        for spec in settings.buckets:
            bucket = spec.bucket(self.venue, None)
            in_use = self.runtime.limiter.in_use(bucket) if bucket is not None else 0.0
            usage.append(
                RateLimitUsage(
                    bucket=spec.name,
                    scope=spec.scope,
                    unit=spec.unit,
                    limit=spec.limit,
                    period_seconds=spec.period,
                    in_use=round(in_use, 3),
                )
            )
        if breaker is not BreakerState.CLOSED:
            state = "down"
        elif record.requests == 0 and record.websocket is None:
            state = "unknown"
        elif record.consecutive_failures or record.websocket == "down":
            state = "degraded"
        else:
            state = "up"
        return VenueStatus(
            venue=self.venue,
            enabled=settings.enabled,
            state=state if settings.enabled else "down",
            breaker=breaker.value,
            last_success_at=record.last_success_at,
            last_error_at=record.last_error_at,
            last_error=record.last_error,
            latency_ewma_ms=(
                round(record.latency_ewma_ms, 3) if record.latency_ewma_ms is not None else None
            ),
            active_host=self.hosts.active,
            websocket=record.websocket,
            limiter_backend=self.runtime.limiter.backend,
            rate_limits=tuple(usage),
            clock_offset_ms=self.clock_offset.reading().offset_ms,
        )

    def _breaker_changed(self, transition: Transition) -> None:
        self._report(
            "breaker", transition.current.value, transition.previous.value, transition.reason
        )

    def _report(self, component: str, status: str, previous: str | None, reason: str) -> None:
        self.runtime.report(
            VenueStatusChanged(
                venue=self.venue,
                component=component,
                status=status,
                previous=previous,
                reason=reason[:500],
                changed_at=datetime.fromtimestamp(self.clock(), UTC),
            )
        )


_default: ResilienceRuntime | None = None
_default_lock = threading.Lock()


def default_runtime() -> ResilienceRuntime:
    """This process's runtime, from the settings (see the module docstring)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = _build_default()
        return _default


def _build_default() -> ResilienceRuntime:
    url = getattr(django_settings, "REDIS_URL", "")
    namespace = getattr(django_settings, "DSTA_NAMESPACE", "dsta")
    local = LocalLimiter()
    if not url:
        return ResilienceRuntime(limiter=FallbackLimiter(None, local))
    client = redis.Redis.from_url(
        url,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT,
        # No retries inside the client: a failed call falls back to local state at once.
        retry=Retry(NoBackoff(), 0),
    )
    share = float(getattr(django_settings, "EXCHANGE_RATE_LIMIT_FALLBACK_SHARE", 0.5))
    return ResilienceRuntime(
        limiter=FallbackLimiter(RedisLimiter(client, namespace=namespace), local, share=share),
        breaker_store=FallbackBreakerStore(
            RedisBreakerStore(client, namespace=namespace), LocalBreakerStore()
        ),
    )
