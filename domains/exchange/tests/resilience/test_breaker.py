"""The circuit breaker's states, in-process and shared through the real Redis; a manual clock."""

from collections.abc import Callable, Iterator
from uuid import uuid4

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from domains.exchange.api import InvalidOrder, UnknownSymbol, VenueUnavailable
from domains.exchange.services.resilience.breaker import (
    BreakerSettings,
    BreakerState,
    BreakerStore,
    CircuitBreaker,
    FallbackBreakerStore,
    LocalBreakerStore,
    RedisBreakerStore,
    Transition,
)
from domains.exchange.services.resilience.guard import VenueGuard
from domains.exchange.tests.resilience.conftest import SimClock

SETTINGS = BreakerSettings(failure_threshold=3, window=10, cooldown=30, probe_timeout=15)


@pytest.fixture
def redis_store(service_url: Callable[[str], str]) -> Iterator[RedisBreakerStore]:
    client = redis.Redis.from_url(service_url("redis"))
    namespace = f"test-{uuid4().hex}"
    yield RedisBreakerStore(client, namespace=namespace)
    for key in client.scan_iter(f"{namespace}:*"):
        client.delete(key)
    client.close()


@pytest.fixture(params=["local", "redis"])
def store(request: pytest.FixtureRequest) -> BreakerStore:
    if request.param == "local":
        return LocalBreakerStore()
    return request.getfixturevalue("redis_store")


def breaker(store: BreakerStore, clock: SimClock, seen: list[Transition]) -> CircuitBreaker:
    return CircuitBreaker(
        "binance", settings=SETTINGS, store=store, clock=clock, on_transition=seen.append
    )


def test_it_opens_after_n_consecutive_failures_and_refuses_until_the_cooldown(store):
    clock, seen = SimClock(), list[Transition]()
    subject = breaker(store, clock, seen)
    for _ in range(2):
        subject.before_call()
        subject.record_failure("timeout")
    assert subject.state() is BreakerState.CLOSED
    subject.record_failure("timeout")
    assert subject.state() is BreakerState.OPEN

    clock.advance(29)
    with pytest.raises(VenueUnavailable) as refused:
        subject.before_call()
    assert refused.value.details["breaker"] == "open"
    assert refused.value.details["retry_after"] == pytest.approx(1)
    assert [(t.previous, t.current) for t in seen] == [(BreakerState.CLOSED, BreakerState.OPEN)]


def test_a_success_between_failures_resets_the_count(store):
    clock = SimClock()
    subject = breaker(store, clock, [])
    for _ in range(5):
        subject.record_failure("5xx")
        subject.record_failure("5xx")
        subject.record_success()
    assert subject.state() is BreakerState.CLOSED


def test_failures_spread_wider_than_the_window_do_not_open_it(store):
    clock = SimClock()
    subject = breaker(store, clock, [])
    for _ in range(6):
        subject.record_failure("5xx")
        clock.advance(6)  # the third failure of a streak always falls past the 10 s window
        subject.record_failure("5xx")
        clock.advance(11)
    assert subject.state() is BreakerState.CLOSED


def test_after_the_cooldown_one_probe_goes_through_and_its_success_closes_it(store):
    clock, seen = SimClock(), list[Transition]()
    subject = breaker(store, clock, seen)
    for _ in range(3):
        subject.record_failure("refused")
    clock.advance(30)

    token = subject.before_call()
    assert token  # this call is the probe
    with pytest.raises(VenueUnavailable) as second:
        subject.before_call()  # one probe at a time
    assert second.value.details["breaker"] == "half_open"

    subject.record_success()
    assert subject.state() is BreakerState.CLOSED
    assert subject.before_call() == ""
    assert [(t.previous.value, t.current.value) for t in seen] == [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
    ]


def test_a_failed_probe_opens_it_for_another_cooldown(store):
    clock = SimClock()
    subject = breaker(store, clock, [])
    for _ in range(3):
        subject.record_failure("refused")
    clock.advance(30)
    subject.before_call()
    subject.record_failure("still refused")
    assert subject.state() is BreakerState.OPEN
    clock.advance(29)
    with pytest.raises(VenueUnavailable):
        subject.before_call()
    clock.advance(1)
    assert subject.before_call()


def test_a_probe_that_never_reports_is_replaced_after_its_timeout(store):
    clock = SimClock()
    subject = breaker(store, clock, [])
    for _ in range(3):
        subject.record_failure("refused")
    clock.advance(30)
    lost = subject.before_call()
    clock.advance(15)
    replacement = subject.before_call()
    assert replacement
    assert replacement != lost


def test_a_probe_that_sent_nothing_frees_its_slot(store):
    clock = SimClock()
    subject = breaker(store, clock, [])
    for _ in range(3):
        subject.record_failure("refused")
    clock.advance(30)
    token = subject.before_call()
    subject.record_neutral(token)  # e.g. our own limiter refused before sending
    assert subject.before_call()


def test_two_processes_see_one_breaker_through_redis(redis_store: RedisBreakerStore):
    clock = SimClock()
    seen_here: list[Transition] = []
    seen_there: list[Transition] = []
    here = breaker(redis_store, clock, seen_here)
    other_client = redis.Redis(connection_pool=redis_store.client.connection_pool)
    there = CircuitBreaker(
        "binance",
        settings=SETTINGS,
        store=RedisBreakerStore(other_client, namespace=redis_store.prefix.split(":")[0]),
        clock=clock,
        on_transition=seen_there.append,
    )
    here.record_failure("a")
    there.record_failure("b")
    here.record_failure("c")  # the third failure, counted across both
    with pytest.raises(VenueUnavailable):
        there.before_call()
    clock.advance(30)
    assert there.before_call()  # the other process probes ...
    with pytest.raises(VenueUnavailable):
        here.before_call()  # ... and this one waits for it
    there.record_success()
    assert here.state() is BreakerState.CLOSED
    # Each transition was reported once, by the process that made it.
    assert [t.current.value for t in seen_here] == ["open"]
    assert [t.current.value for t in seen_there] == ["half_open", "closed"]


def test_while_redis_is_down_the_breaker_works_on_local_state():
    clock = SimClock()
    dead = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.05, retry=Retry(NoBackoff(), 0)
    )
    store = FallbackBreakerStore(
        RedisBreakerStore(dead, namespace="unused"), LocalBreakerStore(), clock=clock
    )
    subject = breaker(store, clock, [])
    for _ in range(3):
        subject.record_failure("refused")
    assert subject.state() is BreakerState.OPEN
    assert store.backend == "local"


def test_a_probe_refused_by_our_own_checks_does_not_close_it(store):
    """An unknown symbol is refused before any request: the venue's health is still unknown."""
    clock = SimClock()
    subject = breaker(store, clock, [])
    guard = VenueGuard(venue="binance", breaker=subject, sleep=lambda _: None)
    for _ in range(3):
        subject.record_failure("refused")
    clock.advance(30)

    def refused_locally() -> None:
        raise UnknownSymbol("binance: no market DOGE/XYZ", details={"symbol": "DOGE/XYZ"})

    with pytest.raises(UnknownSymbol):
        guard.attempt(refused_locally)
    assert subject.state() is not BreakerState.CLOSED
    token = subject.before_call()
    assert token  # the probe slot is free for a real request
    subject.record_neutral(token)

    def refused_by_the_venue() -> None:
        raise InvalidOrder("binance: bad quantity", details={"venue_error": "InvalidOrder"})

    with pytest.raises(InvalidOrder):
        guard.attempt(refused_by_the_venue)
    assert subject.state() is BreakerState.CLOSED  # the venue answered: it is alive
