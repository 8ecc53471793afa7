"""Connection health per venue, as this process sees it: last success, last error, latency.

Each REST request reports here (``hooks``), and so does each websocket connection going up or
down. Latency is an exponentially weighted moving average (``alpha`` = 0.2: the last ~10
requests dominate). The record is per process: the breaker state beside it is the shared one.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime


@dataclass(frozen=True)
class HealthRecord:
    requests: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str = ""
    latency_ewma_ms: float | None = None
    host: str | None = None
    websocket: str | None = None  # "up", "down", or None when no stream was opened


class HealthMonitor:
    def __init__(
        self,
        *,
        alpha: float = 0.2,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.alpha = alpha
        self.now = now
        self._records: dict[str, HealthRecord] = {}
        self._lock = threading.Lock()

    def record_success(self, venue: str, *, latency: float, host: str | None = None) -> None:
        """A response came back in ``latency`` seconds."""
        with self._lock:
            record = self._records.get(venue, HealthRecord())
            self._records[venue] = replace(
                record,
                requests=record.requests + 1,
                consecutive_failures=0,
                last_success_at=self.now(),
                latency_ewma_ms=self._ewma(record.latency_ewma_ms, latency * 1000),
                host=host or record.host,
            )

    def record_failure(
        self, venue: str, *, error: str, latency: float | None = None, host: str | None = None
    ) -> None:
        """A request failed with ``error`` (a short description: class, status)."""
        with self._lock:
            record = self._records.get(venue, HealthRecord())
            self._records[venue] = replace(
                record,
                requests=record.requests + 1,
                failures=record.failures + 1,
                consecutive_failures=record.consecutive_failures + 1,
                last_error_at=self.now(),
                last_error=error[:300],
                latency_ewma_ms=(
                    self._ewma(record.latency_ewma_ms, latency * 1000)
                    if latency is not None
                    else record.latency_ewma_ms
                ),
                host=host or record.host,
            )

    def record_websocket(self, venue: str, *, up: bool, reason: str = "") -> None:
        """A venue stream connected (``up``) or dropped."""
        with self._lock:
            record = self._records.get(venue, HealthRecord())
            changes: dict[str, object] = {"websocket": "up" if up else "down"}
            if not up and reason:
                changes.update(last_error_at=self.now(), last_error=f"websocket: {reason}"[:300])
            self._records[venue] = replace(record, **changes)  # type: ignore[arg-type]

    def snapshot(self, venue: str) -> HealthRecord:
        with self._lock:
            return self._records.get(venue, HealthRecord())

    def _ewma(self, previous: float | None, sample: float) -> float:
        if previous is None:
            return sample
        return previous + self.alpha * (sample - previous)
