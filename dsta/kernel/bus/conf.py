"""The bus's settings, with the embedded-mode defaults in one place.

Read once and cached (``publish`` is on hot paths); the cache is dropped whenever a setting
changes through Django's ``setting_changed`` signal, which ``override_settings`` and
pytest-django's ``settings`` fixture send.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed


@dataclass(frozen=True)
class BusSettings:
    kind: str  # inprocess | redis | rabbitmq
    url: str
    namespace: str
    # Deliver right after commit in the publishing thread; off leaves it to run_relay.
    deliver_on_commit: bool
    max_attempts: int
    retry_base_seconds: float
    retry_max_seconds: float
    relay_batch_size: int
    # A claimed row is invisible to other relays this long; a crashed relay's rows come back
    # after it, so it bounds both crash-recovery delay and the longest expected delivery.
    relay_lease_seconds: float
    relay_interval_seconds: float
    retention_days: float
    redis_maxlen: int
    redis_claim_idle_seconds: float

    def backoff(self, attempts: int) -> timedelta:
        """Delay before the next try after ``attempts`` failed ones: doubling, capped."""
        seconds = self.retry_base_seconds * 2 ** max(attempts - 1, 0)
        return timedelta(seconds=min(seconds, self.retry_max_seconds))


_cached: BusSettings | None = None


def bus_settings() -> BusSettings:
    """The current bus settings (``BUS_*`` and ``DSTA_NAMESPACE`` from Django settings)."""
    global _cached  # a process-wide cache of immutable values
    if _cached is None:
        _cached = _read()
    return _cached


def _reset(*, setting: str, **kwargs: Any) -> None:
    global _cached  # see bus_settings
    if setting.startswith("BUS_") or setting == "DSTA_NAMESPACE":
        _cached = None


setting_changed.connect(_reset, dispatch_uid="dsta.kernel.bus.conf")


def _read() -> BusSettings:
    return BusSettings(
        kind=str(getattr(settings, "BUS_KIND", "inprocess")),
        url=str(getattr(settings, "BUS_URL", "")),
        namespace=str(getattr(settings, "DSTA_NAMESPACE", "dsta")),
        deliver_on_commit=bool(getattr(settings, "BUS_DELIVER_ON_COMMIT", True)),
        max_attempts=int(getattr(settings, "BUS_MAX_ATTEMPTS", 10)),
        retry_base_seconds=float(getattr(settings, "BUS_RETRY_BASE_SECONDS", 2.0)),
        retry_max_seconds=float(getattr(settings, "BUS_RETRY_MAX_SECONDS", 600.0)),
        relay_batch_size=int(getattr(settings, "BUS_RELAY_BATCH_SIZE", 100)),
        relay_lease_seconds=float(getattr(settings, "BUS_RELAY_LEASE_SECONDS", 60.0)),
        relay_interval_seconds=float(getattr(settings, "BUS_RELAY_INTERVAL_SECONDS", 1.0)),
        retention_days=float(getattr(settings, "BUS_RETENTION_DAYS", 7.0)),
        redis_maxlen=int(getattr(settings, "BUS_REDIS_MAXLEN", 100_000)),
        redis_claim_idle_seconds=float(getattr(settings, "BUS_REDIS_CLAIM_IDLE_SECONDS", 60.0)),
    )
