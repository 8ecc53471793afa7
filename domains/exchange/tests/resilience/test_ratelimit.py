"""GCRA rate limits: in-process, in the real local Redis shared by two limiters, and the
fallback to local buckets when Redis is down. Time is a manual clock."""

import threading
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.backoff import NoBackoff
from redis.retry import Retry

from domains.exchange.services.resilience.ratelimit import (
    Bucket,
    Charge,
    CostTooLarge,
    FallbackLimiter,
    Limiter,
    LocalLimiter,
    RedisLimiter,
    Saturated,
    Throttle,
)
from domains.exchange.tests.resilience.conftest import SimClock
from domains.exchange.tests.resilience.tcp_proxy import TcpProxy

# A Redis that is down (nothing listens on port 1); no retries inside the client, as in
# default_runtime().
NO_RETRY = Retry(NoBackoff(), 0)


@pytest.fixture
def redis_client(service_url: Callable[[str], str]) -> Iterator["redis.Redis[bytes]"]:
    client = redis.Redis.from_url(service_url("redis"))
    yield client
    client.close()


@pytest.fixture
def namespace(redis_client: "redis.Redis[bytes]") -> Iterator[str]:
    name = f"test-{uuid4().hex}"
    yield name
    for key in redis_client.scan_iter(f"{name}:*"):
        redis_client.delete(key)


def max_in_window(admitted: list[tuple[float, float]], period: float) -> float:
    """The most units admitted in any window of ``period`` seconds ending at an admission."""
    return max(
        (sum(c for t, c in admitted if end - period < t <= end) for end, _ in admitted),
        default=0.0,
    )


def drive(
    limiters: list[Limiter], bucket: Bucket, clock: SimClock, steps: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Each step: wait ``gap`` seconds, then the next limiter (round robin) asks for ``cost``."""
    admitted = []
    for index, (gap, cost) in enumerate(steps):
        clock.advance(gap)
        if limiters[index % len(limiters)].acquire([Charge(bucket, cost)]).allowed:
            admitted.append((clock(), cost))
    return admitted


STEPS = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.0, 0.001, 0.05, 0.3, 1.0, 2.5]),
        st.sampled_from([1.0, 1.0, 2.0, 4.0, 5.0, 0.2]),
    ),
    min_size=1,
    max_size=150,
)


@settings(max_examples=60, deadline=None)
@given(steps=STEPS)
def test_local_gcra_never_admits_more_than_the_limit_in_any_window(steps):
    clock = SimClock()
    bucket = Bucket("venue:weight", limit=30, period=10)
    admitted = drive([LocalLimiter(clock=clock)], bucket, clock, steps)
    assert max_in_window(admitted, 10) <= 30 + 1e-9


def test_an_idle_bucket_gives_its_burst_then_paces_at_the_rest_of_the_rate():
    clock = SimClock()
    limiter = LocalLimiter(clock=clock)
    bucket = Bucket("b", limit=100, period=10, burst_fraction=0.2)  # burst 20, then 8/s
    assert sum(limiter.acquire([Charge(bucket, 1)]).allowed for _ in range(25)) == 20
    refused = limiter.acquire([Charge(bucket, 1)])
    assert refused.retry_after == pytest.approx(0.125)  # 1 / 8 per second
    clock.advance(0.125)
    assert limiter.acquire([Charge(bucket, 1)]).allowed


def test_a_request_is_charged_in_all_its_buckets_or_in_none():
    clock = SimClock()
    limiter = LocalLimiter(clock=clock)
    weight = Bucket("binance:request_weight", limit=100, period=10)
    orders = Bucket("binance:cred:a:orders", limit=5, period=10)  # burst 1
    assert limiter.acquire([Charge(weight, 1), Charge(orders, 1)]).allowed
    assert not limiter.acquire([Charge(weight, 1), Charge(orders, 1)]).allowed
    # The refused order did not spend weight: the weight bucket holds the first request only.
    assert limiter.in_use(weight) == pytest.approx(1)


def test_a_cost_larger_than_the_burst_is_refused_outright():
    limiter = LocalLimiter(clock=SimClock())
    with pytest.raises(CostTooLarge):
        limiter.acquire([Charge(Bucket("b", limit=100, period=10), 21)])


def test_the_throttle_waits_up_to_its_bound_then_gives_up():
    clock = SimClock()
    limiter = LocalLimiter(clock=clock)
    bucket = Bucket("b", limit=10, period=10, burst_fraction=0.5)  # burst 5, then 0.5/s
    throttle = Throttle(limiter, max_wait=3, sleep=clock.sleep, clock=clock)
    for _ in range(5):
        assert throttle.acquire([Charge(bucket, 1)]) == 0
    assert throttle.acquire([Charge(bucket, 1)]) == pytest.approx(2.0)  # waited for a token
    with pytest.raises(Saturated) as saturated:
        throttle.acquire([Charge(bucket, 2)])  # 4 s away: over the bound
    assert saturated.value.retry_after == pytest.approx(4.0)


# --- Redis: one budget for every process --------------------------------------------------------


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_two_redis_limiters_share_one_budget_and_never_exceed_it(
    steps: list[tuple[float, float]], service_url: Callable[[str], str]
):
    url = service_url("redis")
    namespace = f"test-{uuid4().hex}"
    clock = SimClock()
    # Two limiters with their own connections: two processes as far as Redis can tell.
    first = RedisLimiter(redis.Redis.from_url(url), namespace=namespace, clock=clock)
    second = RedisLimiter(redis.Redis.from_url(url), namespace=namespace, clock=clock)
    bucket = Bucket("binance:request_weight", limit=30, period=10)
    try:
        admitted = drive([first, second], bucket, clock, steps)
        assert max_in_window(admitted, 10) <= 30 + 1e-9
    finally:
        for key in first.client.scan_iter(f"{namespace}:*"):
            first.client.delete(key)
        first.client.close()
        second.client.close()


def test_redis_limiters_admit_exactly_the_burst_to_concurrent_callers(
    redis_client: "redis.Redis[bytes]", namespace: str, service_url: Callable[[str], str]
):
    clock = SimClock()
    bucket = Bucket("venue:weight", limit=100, period=60, burst_fraction=0.2)  # burst 20
    limiters = [
        RedisLimiter(redis.Redis.from_url(service_url("redis")), namespace=namespace, clock=clock)
        for _ in range(4)
    ]
    admitted: list[bool] = []
    lock = threading.Lock()

    def hammer(limiter: RedisLimiter) -> None:
        for _ in range(15):
            allowed = limiter.acquire([Charge(bucket, 1)]).allowed
            with lock:
                admitted.append(allowed)

    threads = [threading.Thread(target=hammer, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(admitted) == 20  # 60 tries at one instant: the burst, not one more
    assert limiters[0].in_use(bucket) == pytest.approx(20)


def test_a_penalty_in_redis_holds_back_every_process(
    redis_client: "redis.Redis[bytes]", namespace: str
):
    clock = SimClock()
    first = RedisLimiter(redis_client, namespace=namespace, clock=clock)
    second = RedisLimiter(redis_client, namespace=namespace, clock=clock)
    bucket = Bucket("binance:request_weight", limit=6000, period=60)
    first.penalize([bucket], 30)  # a 429 said Retry-After: 30
    refused = second.acquire([Charge(bucket, 1)])
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(30, abs=0.1)
    clock.advance(30)
    # The ban is over; the bucket restarts exhausted (no burst: it refills from there).
    assert not second.acquire([Charge(bucket, 1)]).allowed
    clock.advance(bucket.emission)
    assert second.acquire([Charge(bucket, 1)]).allowed


def test_redis_uses_its_own_clock_when_none_is_injected(
    redis_client: "redis.Redis[bytes]", namespace: str
):
    limiter = RedisLimiter(redis_client, namespace=namespace)
    bucket = Bucket("b", limit=10, period=60, burst_fraction=0.5)  # burst 5
    assert [limiter.acquire([Charge(bucket, 1)]).allowed for _ in range(6)] == [True] * 5 + [False]
    assert 0 < limiter.in_use(bucket) <= 5


# --- fallback -------------------------------------------------------------------------------------


def test_the_fallback_uses_local_buckets_with_a_share_while_redis_is_down():
    clock = SimClock()
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.05, retry=NO_RETRY)
    fallback = FallbackLimiter(
        RedisLimiter(dead, namespace="unused", clock=clock),
        LocalLimiter(clock=clock),
        share=0.5,
        recheck=5,
        clock=clock,
    )
    bucket = Bucket("venue:weight", limit=100, period=10)  # burst 20; half of it locally
    decisions = [fallback.acquire([Charge(bucket, 1)]) for _ in range(12)]
    assert [d.allowed for d in decisions] == [True] * 10 + [False] * 2
    assert {d.backend for d in decisions} == {"local"}
    assert fallback.backend == "local"


def test_the_fallback_goes_back_to_redis_when_it_answers_again(
    namespace: str, service_url: Callable[[str], str]
):
    target = urlsplit(service_url("redis"))
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    client = redis.Redis(host="127.0.0.1", port=proxy.port, socket_timeout=0.2, retry=NO_RETRY)
    clock = SimClock()
    fallback = FallbackLimiter(
        RedisLimiter(client, namespace=namespace, clock=clock),
        LocalLimiter(clock=clock),
        share=0.5,
        recheck=5,
        clock=clock,
    )
    bucket = Bucket("venue:weight", limit=100, period=10)
    try:
        assert fallback.acquire([Charge(bucket, 1)]).backend == "redis"
        proxy.down()
        assert fallback.acquire([Charge(bucket, 1)]).backend == "local"
        proxy.restore()
        assert fallback.acquire([Charge(bucket, 1)]).backend == "local"  # not retried yet
        clock.advance(5)
        assert fallback.acquire([Charge(bucket, 1)]).backend == "redis"
        assert fallback.in_use(bucket) == pytest.approx(1)  # the unit just taken, in Redis
    finally:
        client.close()
        proxy.close()


def test_without_redis_configured_the_local_limiter_owns_the_whole_budget():
    clock = SimClock()
    fallback = FallbackLimiter(None, LocalLimiter(clock=clock), share=0.5)
    bucket = Bucket("venue:weight", limit=100, period=10)
    assert sum(fallback.acquire([Charge(bucket, 1)]).allowed for _ in range(30)) == 20
