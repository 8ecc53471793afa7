"""Rate limits shared across processes: GCRA buckets in Redis (one Lua script), or in-process.

GCRA (the generic cell rate algorithm) keeps one number per bucket, the theoretical arrival
time ``tat``. A bucket of ``limit`` units per ``period`` seconds is run at a sustained rate of
``(1 - burst_fraction) * limit / period`` with a burst of ``burst_fraction * limit`` units:
admitting cost ``c`` at ``now`` moves ``tat`` to ``max(tat, now) + c * emission`` and is allowed
while the new ``tat`` is at most ``tolerance`` ahead of ``now``.

Why the split: over any interval of length ``W`` GCRA admits at most ``burst + rate * W``
units (``tat`` ends at most ``tolerance`` past the interval's end and starts no earlier than its
start). With ``W = period`` that is exactly ``limit``, so a venue that counts per fixed window
(Binance: request weight per calendar minute) or per sliding window is never exceeded, whatever
its windows' alignment with our clock.

A request charges several buckets at once (the venue's IP weight and the credential's order
count); it is admitted in all of them or in none, atomically (one script call in Redis).
"""

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import redis

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bucket:
    """One rate limit: ``limit`` units per ``period`` seconds, stored under ``key``."""

    key: str
    limit: float
    period: float
    burst_fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.limit <= 0 or self.period <= 0 or not (0 < self.burst_fraction < 1):
            raise ValueError(f"bad rate limit {self}")

    @property
    def emission(self) -> float:
        """Seconds of budget one unit uses at the sustained rate."""
        return self.period / ((1 - self.burst_fraction) * self.limit)

    @property
    def tolerance(self) -> float:
        """How far (seconds) ``tat`` may run ahead of now: the burst, in time."""
        return self.burst_fraction * self.limit * self.emission

    @property
    def burst(self) -> float:
        """Units admitted at once from an idle bucket."""
        return self.burst_fraction * self.limit

    def scaled(self, share: float) -> "Bucket":
        """The same bucket with ``share`` of its limit (a process's part when Redis is down)."""
        return Bucket(self.key, self.limit * share, self.period, self.burst_fraction)


@dataclass(frozen=True)
class Charge:
    """``cost`` units of ``bucket`` for one request."""

    bucket: Bucket
    cost: float


@dataclass(frozen=True)
class Decision:
    """The limiter's answer: admitted, or how long until it would be."""

    allowed: bool
    retry_after: float  # seconds; 0 when allowed
    backend: str  # "redis" or "local"


class CostTooLarge(ValueError):
    """One request costs more than a bucket's burst: no wait would ever admit it."""


class Limiter(Protocol):
    @property
    def backend(self) -> str:
        """ "redis" or "local": where the buckets live now."""
        ...

    def acquire(self, charges: Sequence[Charge]) -> Decision:
        """Admit every charge, or none and say when to try again."""
        ...

    def penalize(self, buckets: Sequence[Bucket], seconds: float) -> None:
        """Admit nothing in ``buckets`` for ``seconds`` (the venue said ``Retry-After``)."""
        ...

    def in_use(self, bucket: Bucket) -> float:
        """Units of the burst currently spent (0 = idle, ``bucket.burst`` = exhausted)."""
        ...


def _check_costs(charges: Sequence[Charge]) -> None:
    for charge in charges:
        if charge.cost < 0:
            raise ValueError(f"negative cost {charge.cost}")
        # A tiny epsilon: float costs (ccxt's 0.2 * 5) must not miss an exact fit.
        if charge.cost * charge.bucket.emission > charge.bucket.tolerance * (1 + 1e-9):
            raise CostTooLarge(
                f"a request of {charge.cost:g} units exceeds the burst of "
                f"{charge.bucket.burst:g} units of {charge.bucket.key}"
            )


class LocalLimiter:
    """GCRA in this process only (embedded mode, or the fallback when Redis is down)."""

    backend = "local"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()

    def acquire(self, charges: Sequence[Charge]) -> Decision:
        _check_costs(charges)
        with self._lock:
            now = self.clock()
            wait = 0.0
            updates: dict[str, float] = {}
            for charge in charges:
                stored = updates.get(charge.bucket.key, self._tat.get(charge.bucket.key, now))
                tat = max(stored, now)
                new_tat = tat + charge.cost * charge.bucket.emission
                wait = max(wait, new_tat - charge.bucket.tolerance - now)
                updates[charge.bucket.key] = new_tat
            if wait > 1e-9:
                return Decision(False, wait, self.backend)
            self._tat.update(updates)
            return Decision(True, 0.0, self.backend)

    def penalize(self, buckets: Sequence[Bucket], seconds: float) -> None:
        with self._lock:
            now = self.clock()
            for bucket in buckets:
                blocked = now + seconds + bucket.tolerance
                self._tat[bucket.key] = max(self._tat.get(bucket.key, now), blocked)

    def in_use(self, bucket: Bucket) -> float:
        with self._lock:
            ahead = self._tat.get(bucket.key, 0.0) - self.clock()
        return max(0.0, ahead) / bucket.emission


# KEYS: the buckets' keys. ARGV[1]: now in ms ("" = the Redis server's clock, one clock for
# every process); ARGV[2]: "acquire" | "penalize"; then per key: emission ms/unit, tolerance
# ms, and the cost (acquire) or the penalty in ms (penalize). Numbers go back as strings: Redis
# would truncate Lua numbers to integers.
_GCRA_LUA = """
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
else
  now = tonumber(ARGV[1])
end
local mode = ARGV[2]
local new = {}
local wait = 0
for i = 1, #KEYS do
  local base = 2 + (i - 1) * 3
  local emission = tonumber(ARGV[base + 1])
  local tolerance = tonumber(ARGV[base + 2])
  local amount = tonumber(ARGV[base + 3])
  local stored = redis.call('GET', KEYS[i])
  local tat = now
  if stored then tat = math.max(tonumber(stored), now) end
  if new[KEYS[i]] then tat = new[KEYS[i]] end
  if mode == 'penalize' then
    new[KEYS[i]] = math.max(tat, now + amount + tolerance)
  else
    local nt = tat + amount * emission
    wait = math.max(wait, nt - tolerance - now)
    new[KEYS[i]] = nt
  end
end
if mode == 'acquire' and wait > 0.000001 then
  return {0, tostring(wait)}
end
for key, tat in pairs(new) do
  local ttl = math.max(1, math.ceil(tat - now)) + 1000
  redis.call('SET', key, string.format('%.17g', tat), 'PX', ttl)
end
return {1, '0'}
"""


class RedisLimiter:
    """GCRA in Redis: every process charging the same keys shares one budget."""

    backend = "redis"

    def __init__(
        self,
        client: "redis.Redis[bytes]",
        *,
        namespace: str = "dsta",
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock`` (seconds) is for tests; by default the Redis server's clock is used, so
        processes on machines with skewed clocks still agree."""
        self.client = client
        self.prefix = f"{namespace}:exchange:rl:"
        self.clock = clock
        self._script = client.register_script(_GCRA_LUA)

    def _now_ms(self) -> str:
        return "" if self.clock is None else repr(self.clock() * 1000)

    def acquire(self, charges: Sequence[Charge]) -> Decision:
        _check_costs(charges)
        keys = [self.prefix + charge.bucket.key for charge in charges]
        args: list[str] = [self._now_ms(), "acquire"]
        for charge in charges:
            args += [
                repr(charge.bucket.emission * 1000),
                repr(charge.bucket.tolerance * 1000),
                repr(float(charge.cost)),
            ]
        allowed, wait_ms = self._script(keys=keys, args=args)
        if int(allowed):
            return Decision(True, 0.0, self.backend)
        return Decision(False, float(wait_ms) / 1000, self.backend)

    def penalize(self, buckets: Sequence[Bucket], seconds: float) -> None:
        keys = [self.prefix + bucket.key for bucket in buckets]
        args: list[str] = [self._now_ms(), "penalize"]
        for bucket in buckets:
            args += [repr(bucket.emission * 1000), repr(bucket.tolerance * 1000)]
            args.append(repr(seconds * 1000))
        self._script(keys=keys, args=args)

    def in_use(self, bucket: Bucket) -> float:
        stored = self.client.get(self.prefix + bucket.key)
        if stored is None:
            return 0.0
        now = self.clock() if self.clock is not None else _redis_time(self.client)
        return max(0.0, float(stored) / 1000 - now) / bucket.emission


def _redis_time(client: "redis.Redis[bytes]") -> float:
    seconds, micros = client.time()
    return float(seconds) + float(micros) / 1e6


class FallbackLimiter:
    """Redis when it answers; this process's own buckets when it does not.

    While Redis is down each process only knows itself, so the local buckets get ``share`` of
    each limit (``EXCHANGE_RATE_LIMIT_FALLBACK_SHARE``: 1 / the number of processes that trade).
    Redis is tried again ``recheck`` seconds after a failure.
    """

    def __init__(
        self,
        primary: Limiter | None,
        local: LocalLimiter,
        *,
        share: float = 1.0,
        recheck: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.local = local
        self.share = share
        self.recheck = recheck
        self.clock = clock
        self._down_until = -math.inf

    @property
    def backend(self) -> str:
        if self.primary is not None and self._use_primary():
            return self.primary.backend
        return self.local.backend

    def _use_primary(self) -> bool:
        return self.primary is not None and self.clock() >= self._down_until

    def _failed(self, error: Exception) -> None:
        if self.clock() >= self._down_until:
            logger.warning(
                "exchange rate limiter: Redis unreachable, using local buckets",
                extra={"error": type(error).__name__},
            )
        self._down_until = self.clock() + self.recheck

    def acquire(self, charges: Sequence[Charge]) -> Decision:
        if self._use_primary():
            assert self.primary is not None
            try:
                return self.primary.acquire(charges)
            except redis.RedisError as error:
                self._failed(error)
        scaled = [Charge(c.bucket.scaled(self._share()), c.cost) for c in charges]
        return self.local.acquire(scaled)

    def penalize(self, buckets: Sequence[Bucket], seconds: float) -> None:
        # Remember the penalty locally too: it must hold if Redis fails a moment later.
        self.local.penalize([b.scaled(self._share()) for b in buckets], seconds)
        if self._use_primary():
            assert self.primary is not None
            try:
                self.primary.penalize(buckets, seconds)
            except redis.RedisError as error:
                self._failed(error)

    def in_use(self, bucket: Bucket) -> float:
        if self._use_primary():
            assert self.primary is not None
            try:
                return self.primary.in_use(bucket)
            except redis.RedisError as error:
                self._failed(error)
        return self.local.in_use(bucket.scaled(self._share()))

    def _share(self) -> float:
        # No Redis configured at all: this is the only process, it owns the whole budget.
        return 1.0 if self.primary is None else self.share


class Throttle:
    """Queue for tokens: wait (with the injected ``sleep``) up to ``max_wait`` seconds in all,
    else give up with the time the caller would have had to wait."""

    def __init__(
        self,
        limiter: Limiter,
        *,
        max_wait: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limiter = limiter
        self.max_wait = max_wait
        self.sleep = sleep
        self.clock = clock

    def acquire(self, charges: Sequence[Charge]) -> float:
        """Seconds waited; raises :class:`Saturated` when tokens would come too late."""
        if not charges:
            return 0.0
        started = self.clock()
        while True:
            decision = self.limiter.acquire(charges)
            if decision.allowed:
                return self.clock() - started
            waited = self.clock() - started
            if waited + decision.retry_after > self.max_wait:
                raise Saturated(decision.retry_after, waited)
            self.sleep(decision.retry_after)


class Saturated(Exception):
    """No tokens within the throttle's bound."""

    def __init__(self, retry_after: float, waited: float) -> None:
        super().__init__(f"rate limit saturated: next token in {retry_after:.3f}s")
        self.retry_after = retry_after
        self.waited = waited
