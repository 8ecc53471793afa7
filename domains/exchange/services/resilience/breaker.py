"""A circuit breaker per venue: stop calling a venue that keeps failing, probe it, resume.

closed --N consecutive failures within ``window``--> open --``cooldown``--> half-open (one
probe call is let through) --probe succeeds--> closed; --probe fails--> open again.

A failure is a venue fault (timeout, connection error, 5xx, a response we cannot read); an
answer from the venue, even a refusal (insufficient funds, a 429), shows it is alive and
counts as a success. While open, calls fail at once with ``VenueUnavailable`` (nothing is
sent) carrying ``details.breaker`` and ``details.retry_after``.

The state lives in a :class:`BreakerStore`: Redis when configured (every process sees the same
breaker; each transition happens in exactly one process, which reports it), else in-process.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

import redis

from domains.exchange.api import VenueUnavailable

logger = logging.getLogger(__name__)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerSettings:
    failure_threshold: int = 5  # consecutive failures that open it ...
    window: float = 30.0  # ... when they all fall within this many seconds
    cooldown: float = 30.0  # seconds open before one probe is let through
    probe_timeout: float = 30.0  # a probe that never reports back is replaced after this


@dataclass(frozen=True)
class BreakerRecord:
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    window_started: float = 0.0
    opened_at: float = 0.0
    probe: str = ""  # token of the call probing a half-open breaker
    probe_started: float = 0.0
    reason: str = ""  # why it last opened


@dataclass(frozen=True)
class Transition:
    """A change of a venue's breaker state, reported once (by the process that made it)."""

    venue: str
    previous: BreakerState
    current: BreakerState
    reason: str
    at: float  # clock seconds


Change = Callable[[BreakerRecord], BreakerRecord | None]


class BreakerStore(Protocol):
    @property
    def backend(self) -> str:
        """ "redis" or "local": where the records live now."""
        ...

    def read(self, key: str) -> BreakerRecord:
        """The stored record (a closed one when there is none)."""
        ...

    def update(self, key: str, change: Change) -> tuple[BreakerRecord, BreakerRecord]:
        """Apply ``change`` atomically; (before, after). ``change`` returning None: no write."""
        ...


class LocalBreakerStore:
    """Breaker records in this process."""

    backend = "local"

    def __init__(self) -> None:
        self._records: dict[str, BreakerRecord] = {}
        self._lock = threading.Lock()

    def read(self, key: str) -> BreakerRecord:
        with self._lock:
            return self._records.get(key, BreakerRecord())

    def update(self, key: str, change: Change) -> tuple[BreakerRecord, BreakerRecord]:
        with self._lock:
            before = self._records.get(key, BreakerRecord())
            after = change(before)
            if after is None:
                return before, before
            self._records[key] = after
            return before, after


_FIELDS = ("state", "failures", "window_started", "opened_at", "probe", "probe_started", "reason")
RECORD_TTL = 7 * 24 * 3600  # an idle breaker's record expires: it would read closed anyway


class RedisBreakerStore:
    """Breaker records in a Redis hash per venue; updates are optimistic (WATCH/MULTI)."""

    backend = "redis"

    def __init__(self, client: "redis.Redis[bytes]", *, namespace: str = "dsta") -> None:
        self.client = client
        self.prefix = f"{namespace}:exchange:breaker:"

    def read(self, key: str) -> BreakerRecord:
        return _record(self.client.hgetall(self.prefix + key))

    def update(self, key: str, change: Change) -> tuple[BreakerRecord, BreakerRecord]:
        name = self.prefix + key
        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(name)
                    before = _record(pipe.hgetall(name))  # type: ignore[arg-type]
                    after = change(before)
                    if after is None:
                        pipe.unwatch()
                        return before, before
                    pipe.multi()
                    pipe.hset(name, mapping={f: str(getattr(after, f)) for f in _FIELDS})
                    pipe.expire(name, RECORD_TTL)
                    pipe.execute()
                    return before, after
                except redis.WatchError:
                    continue  # another process changed it first: decide again on its state


def _record(raw: dict[bytes, bytes]) -> BreakerRecord:
    if not raw:
        return BreakerRecord()
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    return BreakerRecord(
        state=BreakerState(fields.get("state", "closed")),
        failures=int(fields.get("failures", 0)),
        window_started=float(fields.get("window_started", 0)),
        opened_at=float(fields.get("opened_at", 0)),
        probe=fields.get("probe", ""),
        probe_started=float(fields.get("probe_started", 0)),
        reason=fields.get("reason", ""),
    )


class FallbackBreakerStore:
    """Redis while it answers, else this process's records (tried again after ``recheck``)."""

    def __init__(
        self,
        primary: BreakerStore,
        local: LocalBreakerStore,
        *,
        recheck: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.local = local
        self.recheck = recheck
        self.clock = clock
        self._down_until = float("-inf")

    @property
    def backend(self) -> str:
        return self.primary.backend if self.clock() >= self._down_until else self.local.backend

    def read(self, key: str) -> BreakerRecord:
        if self.clock() >= self._down_until:
            try:
                return self.primary.read(key)
            except redis.RedisError:
                self._down_until = self.clock() + self.recheck
        return self.local.read(key)

    def update(self, key: str, change: Change) -> tuple[BreakerRecord, BreakerRecord]:
        if self.clock() >= self._down_until:
            try:
                return self.primary.update(key, change)
            except redis.RedisError:
                self._down_until = self.clock() + self.recheck
        return self.local.update(key, change)


class CircuitBreaker:
    """The breaker of one venue (see the module docstring)."""

    def __init__(
        self,
        venue: str,
        *,
        settings: BreakerSettings | Callable[[], BreakerSettings] | None = None,
        store: BreakerStore | None = None,
        clock: Callable[[], float] = time.time,
        on_transition: Callable[[Transition], None] = lambda transition: None,
    ) -> None:
        """``settings`` may be a callable: the venue's current settings, read at each use."""
        self.venue = venue
        self._settings = settings or BreakerSettings()
        self.store = store or LocalBreakerStore()
        self.clock = clock
        self.on_transition = on_transition

    @property
    def settings(self) -> BreakerSettings:
        return self._settings() if callable(self._settings) else self._settings

    # --- reading ---------------------------------------------------------------------------

    def record(self) -> BreakerRecord:
        return self.store.read(self.venue)

    def state(self) -> BreakerState:
        return self.record().state

    # --- around a call ---------------------------------------------------------------------

    def before_call(self) -> str:
        """Let a call through (returns its probe token when it is the half-open probe, else
        ""), or raise ``VenueUnavailable`` while the breaker is open."""
        now = self.clock()
        record = self.store.read(self.venue)
        if record.state is BreakerState.CLOSED:
            return ""
        if not self._probe_due(record, now):
            raise self._refusal(record, now)
        token = uuid.uuid4().hex

        def become_probe(current: BreakerRecord) -> BreakerRecord | None:
            if current.state is BreakerState.CLOSED or not self._probe_due(current, now):
                return None
            return replace(current, state=BreakerState.HALF_OPEN, probe=token, probe_started=now)

        before, after = self.store.update(self.venue, become_probe)
        if after.state is BreakerState.CLOSED:
            return ""
        if after.probe != token:
            raise self._refusal(after, now)
        self._report(before, after, "cool-down over: one probe call let through", now)
        return token

    def record_success(self) -> None:
        """The venue answered (even with a refusal): reset the failure count; a probe closes."""
        record = self.store.read(self.venue)
        if record.state is BreakerState.CLOSED and record.failures == 0:
            return  # the common case: nothing to write

        def succeed(current: BreakerRecord) -> BreakerRecord | None:
            if current.state is BreakerState.OPEN:
                return None  # a call that started before it opened: not a probe
            if current.state is BreakerState.CLOSED and current.failures == 0:
                return None
            return BreakerRecord()

        now = self.clock()
        before, after = self.store.update(self.venue, succeed)
        self._report(before, after, "probe succeeded", now)

    def record_failure(self, reason: str) -> None:
        """A venue fault: count it; the N-th within the window (or a failed probe) opens."""
        now = self.clock()
        settings = self.settings

        def fail(current: BreakerRecord) -> BreakerRecord | None:
            if current.state is BreakerState.OPEN:
                return None
            if current.state is BreakerState.HALF_OPEN:
                return BreakerRecord(
                    state=BreakerState.OPEN, opened_at=now, reason=f"probe failed: {reason}"
                )
            fresh = current.failures == 0 or now - current.window_started > settings.window
            failures = 1 if fresh else current.failures + 1
            started = now if fresh else current.window_started
            if failures >= settings.failure_threshold:
                return BreakerRecord(
                    state=BreakerState.OPEN,
                    failures=failures,
                    window_started=started,
                    opened_at=now,
                    reason=f"{failures} consecutive failures: {reason}",
                )
            return replace(current, failures=failures, window_started=started)

        before, after = self.store.update(self.venue, fail)
        self._report(before, after, after.reason, now)

    def record_neutral(self, token: str) -> None:
        """The call sent nothing (our own limiter refused): free the probe slot it held."""
        if not token:
            return

        def release(current: BreakerRecord) -> BreakerRecord | None:
            if current.state is not BreakerState.HALF_OPEN or current.probe != token:
                return None
            return replace(current, probe="", probe_started=0.0)

        self.store.update(self.venue, release)

    # --- helpers ---------------------------------------------------------------------------

    def _probe_due(self, record: BreakerRecord, now: float) -> bool:
        if record.state is BreakerState.OPEN:
            return now >= record.opened_at + self.settings.cooldown
        if record.state is BreakerState.HALF_OPEN:
            return not record.probe or now >= record.probe_started + self.settings.probe_timeout
        return True

    def _refusal(self, record: BreakerRecord, now: float) -> VenueUnavailable:
        if record.state is BreakerState.OPEN:
            retry_after = max(0.0, record.opened_at + self.settings.cooldown - now)
        else:
            retry_after = max(0.0, record.probe_started + self.settings.probe_timeout - now)
        return VenueUnavailable(
            f"{self.venue}: circuit breaker {record.state.value} ({record.reason or 'failing'}); "
            f"nothing was sent, retry in {retry_after:.1f}s",
            details={
                "venue": self.venue,
                "breaker": record.state.value,
                "retry_after": round(retry_after, 3),
                "reason": record.reason,
            },
        )

    def _report(self, before: BreakerRecord, after: BreakerRecord, reason: str, at: float) -> None:
        if before.state is after.state:
            return
        transition = Transition(self.venue, before.state, after.state, reason, at)
        logger.warning(
            "exchange circuit breaker %s -> %s",
            before.state.value,
            after.state.value,
            extra={"venue": self.venue, "reason": reason},
        )
        try:
            self.on_transition(transition)
        except Exception:
            # Reporting must never break the call that caused it.
            logger.exception("exchange breaker transition report failed")
