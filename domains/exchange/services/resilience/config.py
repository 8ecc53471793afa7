"""A venue's settings: the documented defaults (``venues.py``) with an admin's overrides
(``ExchangeConfig``), re-read at most every ``ttl`` seconds so an admin's change takes effect
without a restart."""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from django.db import DatabaseError

from domains.exchange.api import UnknownVenue
from domains.exchange.models import ExchangeConfig
from domains.exchange.services.resilience.breaker import BreakerSettings
from domains.exchange.services.resilience.venues import DEFAULTS, BucketSpec, VenueSettings

logger = logging.getLogger(__name__)


def defaults_of(venue: str) -> VenueSettings:
    """The documented settings of a ccxt venue; ``UnknownVenue`` for any other name."""
    try:
        return DEFAULTS[venue]
    except KeyError:
        raise UnknownVenue(
            f"no ccxt venue {venue!r}", details={"venue": venue, "supported": sorted(DEFAULTS)}
        ) from None


def apply_config(defaults: VenueSettings, row: ExchangeConfig | None) -> VenueSettings:
    """``defaults`` with the overrides of an ``ExchangeConfig`` row (if any)."""
    if row is None:
        return defaults
    overrides = row.rate_limits if isinstance(row.rate_limits, dict) else {}
    buckets = tuple(_override(spec, overrides.get(spec.name)) for spec in defaults.buckets)
    hosts = tuple(str(h) for h in row.hosts if str(h).strip()) if row.hosts else defaults.hosts
    return replace(
        defaults,
        enabled=row.enabled,
        buckets=buckets,
        hosts=hosts,
        max_wait=row.max_wait_seconds,
        timeout_ms=row.timeout_ms,
        log_requests=row.log_requests,
        breaker=BreakerSettings(
            failure_threshold=max(1, row.breaker_failure_threshold),
            window=row.breaker_window_seconds,
            cooldown=row.breaker_cooldown_seconds,
            probe_timeout=defaults.breaker.probe_timeout,
        ),
    )


def _override(spec: BucketSpec, override: object) -> BucketSpec:
    if not isinstance(override, dict):
        return spec
    try:
        limit = float(override.get("limit", spec.limit))
        period = float(override.get("period", spec.period))
    except (TypeError, ValueError):
        logger.warning("ignoring a malformed rate-limit override", extra={"bucket": spec.name})
        return spec
    if limit <= 0 or period <= 0:
        return spec
    return replace(spec, limit=limit, period=period)


class SettingsSource:
    """``source(venue)``: the venue's settings from the database, cached for ``ttl`` seconds.

    Without a readable database (a command run before ``migrate``) the defaults apply.
    """

    def __init__(self, *, ttl: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[float, VenueSettings]] = {}
        self._lock = threading.Lock()

    def __call__(self, venue: str) -> VenueSettings:
        defaults = defaults_of(venue)
        now = self.clock()
        with self._lock:
            cached = self._cache.get(venue)
            if cached is not None and now - cached[0] < self.ttl:
                return cached[1]
        try:
            row = ExchangeConfig.objects.filter(venue=venue).first()
        except DatabaseError:
            row = None
        settings = apply_config(defaults, row)
        with self._lock:
            self._cache[venue] = (now, settings)
        return settings

    def forget(self) -> None:
        """Drop the cache (after an admin saved a config)."""
        with self._lock:
            self._cache.clear()
