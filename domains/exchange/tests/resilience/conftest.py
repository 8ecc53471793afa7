"""A simulated Binance behind ccxt's real URLs, our resilience runtime on a manual clock.

Nothing sleeps: the runtime's ``sleep`` advances the clock the fake venue timestamps requests
with, so rate-limit windows, Retry-After and breaker cool-downs pass in simulated time.
"""

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from domains.exchange.adapters.ccxt_gateway import VenueCredentials
from domains.exchange.services.live import LiveVenue
from domains.exchange.services.resilience.breaker import BreakerSettings, LocalBreakerStore
from domains.exchange.services.resilience.config import defaults_of
from domains.exchange.services.resilience.ratelimit import FallbackLimiter, LocalLimiter
from domains.exchange.services.resilience.retry import RetryPolicy
from domains.exchange.services.resilience.runtime import ResilienceRuntime
from domains.exchange.services.resilience.venues import VenueSettings
from domains.exchange.services.venues import VenueFactory
from domains.exchange.tests.adapters.conftest import load_markets
from domains.exchange.tests.fake_binance import BinanceSim
from domains.exchange.tests.fake_venue import FakeVenue
from dsta.kernel.bus import Event

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


@dataclass
class SimClock:
    """Seconds since an arbitrary epoch; ``sleep`` moves it instead of waiting."""

    now: float = 1_700_000_000.0
    slept: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


@dataclass
class BinanceRig:
    clock: SimClock
    sim: BinanceSim
    fake: FakeVenue
    runtime: ResilienceRuntime
    factory: VenueFactory
    live: LiveVenue
    account_id: UUID
    events: list[Event]
    settings: dict[str, VenueSettings]

    def configure(self, **changes: Any) -> None:
        """Change the venue's settings (as an admin would)."""
        self.settings["binance"] = replace(self.settings["binance"], **changes)

    def hosts(self) -> list[str]:
        return [request.host for request in self.fake.requests]


def build_binance_rig(shared_data: Path, fake: FakeVenue, clock: SimClock, sim: BinanceSim):
    events: list[Event] = []
    settings = {
        "binance": replace(
            defaults_of("binance"),
            log_requests=False,
            breaker=BreakerSettings(failure_threshold=3, window=30, cooldown=20),
            retry=RetryPolicy(attempts=4, base_delay=0.1, max_delay=2.0),
            # No lazy clock measurement: tests count every request (test_clock.py turns it on).
            clock_check_interval=0.0,
        )
    }
    runtime = ResilienceRuntime(
        limiter=FallbackLimiter(None, LocalLimiter(clock=clock)),
        breaker_store=LocalBreakerStore(),
        settings_for=lambda venue: settings[venue],
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(7),
        report=events.append,
    )
    factory = VenueFactory(
        runtime=runtime,
        ccxt_config={"session": fake.session()},
        prepare=lambda exchange: exchange.set_markets(load_markets(shared_data, "binance")),
    )
    account_id = uuid4()
    live = factory.for_account(
        "binance",
        account_id=account_id,
        credentials=VenueCredentials(api_key=API_KEY, secret=API_SECRET),
    )
    return BinanceRig(clock, sim, fake, runtime, factory, live, account_id, events, settings)


@pytest.fixture
def binance(shared_data: Path) -> Iterator[BinanceRig]:
    clock = SimClock()
    sim = BinanceSim(clock)
    with FakeVenue(clock=clock, handler=sim) as fake:
        yield build_binance_rig(shared_data, fake, clock, sim)
