"""Clock skew against a simulated Binance that keeps its own clock (``BinanceSim.skew``).

The fake serves ``GET /api/v3/time`` from its clock and refuses a signed request whose
timestamp is more than 1000 ms ahead of it or older than ``recvWindow`` with -1021, before
doing anything else, as Binance's "Timing security" section says. ccxt stamps requests with
the real wall clock, so a skewed venue is a skewed client, seen from the venue.
"""

import threading
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.exchange.adapters.ccxt_clock import ClockOffset
from domains.exchange.adapters.ccxt_gateway import VenueCredentials
from domains.exchange.api import ClockSkew, OrderRequest, OrderStatus, VenueUnavailable
from domains.exchange.services.resilience.breaker import BreakerState
from domains.exchange.tests.fake_binance import BinanceSim, Fault
from domains.exchange.tests.fake_venue import FakeVenue
from domains.exchange.tests.resilience.conftest import (
    API_KEY,
    API_SECRET,
    BinanceRig,
    SimClock,
    build_binance_rig,
)

ORDER = "/api/v3/order"
TIME = "/api/v3/time"
ACCOUNT = "/api/v3/account"
TICKER = "/api/v3/ticker/24hr"
# Offsets are measured over a real local round trip: a few ms of slack, generously.
SLACK_MS = 250


def limit_buy(client_order_id: str = "dstaclock0001") -> OrderRequest:
    return OrderRequest(
        symbol="BTC/USDT",
        side="buy",  # type: ignore[arg-type]
        type="limit",  # type: ignore[arg-type]
        amount=Decimal("0.001"),
        price=Decimal("50000"),
        client_order_id=client_order_id,
    )


def paths(rig: BinanceRig) -> list[str]:
    return [request.path for request in rig.fake.requests]


def offset_of(rig: BinanceRig) -> int | None:
    return rig.runtime.venue("binance").status().clock_offset_ms


# --- measured lazily, shared by the venue's clients ---------------------------------------------


def test_the_first_call_measures_the_venues_clock_and_signs_with_it(binance: BinanceRig):
    binance.configure(clock_check_interval=3600.0)
    binance.sim.skew = -2.0  # the venue is 2 s behind us: unadjusted, "1000ms ahead" refusals

    binance.live.balances(binance.account_id)

    assert paths(binance) == [TIME, ACCOUNT]
    assert binance.sim.rejected_1021 == 0
    offset = offset_of(binance)
    assert offset is not None
    assert abs(offset - 2000) < SLACK_MS  # ours minus the venue's
    # One measurement per venue and interval: the next call, and a new client, reuse it.
    binance.live.balances(binance.account_id)
    other = binance.factory.for_account(
        "binance",
        account_id=uuid4(),
        credentials=VenueCredentials(api_key=API_KEY, secret=API_SECRET),
    )
    other.balances(binance.account_id)
    assert paths(binance) == [TIME, ACCOUNT, ACCOUNT, ACCOUNT]
    assert binance.sim.rejected_1021 == 0


def test_without_the_offset_the_same_skew_is_refused_by_the_venue(binance: BinanceRig):
    # The control: the fake does check timestamps, so the test above can fail.
    binance.sim.skew = -2.0
    binance.sim.time_skew = 0.0  # and its time call hides the skew, so a resync cannot help
    with pytest.raises(ClockSkew):
        binance.live.balances(binance.account_id)
    assert binance.sim.rejected_1021 == 2  # the call and its one retry


def test_a_failed_measurement_is_tolerated_and_tried_again_a_minute_later(binance: BinanceRig):
    binance.configure(clock_check_interval=3600.0)
    binance.sim.fail("GET", TIME, Fault("status", 503))

    assert binance.live.ticker("BTC/USDT").bid == Decimal("60000.00")
    assert paths(binance) == [TIME, TICKER]
    assert offset_of(binance) is None
    binance.live.ticker("BTC/USDT")  # not measured at every call while it fails
    assert paths(binance)[-1] == TICKER
    assert paths(binance).count(TIME) == 1

    binance.clock.advance(61)
    binance.live.ticker("BTC/USDT")
    assert paths(binance)[-2:] == [TIME, TICKER]
    offset = offset_of(binance)
    assert offset is not None
    assert abs(offset) < SLACK_MS


# --- a refusal: resync, then one more try -------------------------------------------------------


def test_a_client_5s_behind_is_resynced_and_the_call_succeeds(binance: BinanceRig):
    binance.configure(clock_check_interval=3600.0)
    # ccxt asks for a 10 s recvWindow, which a 5 s lag passes; this client asks for 2 s.
    binance.live.adapter.exchange.options["recvWindow"] = 2000
    binance.live.balances(binance.account_id)  # measured in step
    binance.sim.skew = 5.0  # then our clock falls 5 s behind the venue's

    balances = binance.live.balances(binance.account_id)

    assert balances.of("USDT").free == Decimal("10000")
    assert paths(binance) == [TIME, ACCOUNT, ACCOUNT, TIME, ACCOUNT]
    assert binance.sim.rejected_1021 == 1
    offset = offset_of(binance)
    assert offset is not None
    assert abs(offset + 5000) < SLACK_MS


def test_an_order_refused_for_its_timestamp_is_sent_again_and_lands_once(binance: BinanceRig):
    binance.sim.skew = -3.0  # our clock is 3 s ahead (the rig measures nothing beforehand)

    ack = binance.live.place_order(binance.account_id, limit_buy())

    assert (ack.client_order_id, ack.status) == ("dstaclock0001", OrderStatus.OPEN)
    sent = [(r.method, r.path) for r in binance.fake.requests]
    assert sent == [("POST", ORDER), ("GET", TIME), ("POST", ORDER)]  # no lookup: not unknown
    posts = [r for r in binance.fake.requests if r.method == "POST"]
    assert {r.form["newClientOrderId"] for r in posts} == {"dstaclock0001"}
    # The venue refused the first before its matching engine saw it: one order, not two.
    assert binance.sim.order_posts == ["dstaclock0001"]
    assert list(binance.sim.orders) == ["dstaclock0001"]
    assert binance.sim.rejected_1021 == 1


def test_a_skew_a_resync_cannot_fix_fails_as_clock_skew_with_the_order_not_placed(
    binance: BinanceRig,
):
    binance.sim.skew = -3.0
    binance.sim.time_skew = 0.0  # its time call says the clocks agree: measuring cannot help

    for n in range(4):  # more refusals than the breaker's threshold (3)
        with pytest.raises(ClockSkew) as skewed:
            binance.live.place_order(binance.account_id, limit_buy(f"dstaclock000{n}"))
        error = skewed.value
        assert not isinstance(error, VenueUnavailable)
        assert (error.code, error.status) == ("clock_skew", 503)
        assert error.details["outcome"] == "not_placed"
        assert error.details["client_order_id"] == f"dstaclock000{n}"
        assert abs(error.details["clock_offset_ms"]) < SLACK_MS
        assert "Check this host's clock (NTP)" in error.message
        assert "the order was not placed" in error.message

    assert binance.sim.orders == {}
    sent = [(r.method, r.path) for r in binance.fake.requests]
    assert sent == [("POST", ORDER), ("GET", TIME), ("POST", ORDER)] * 4  # never looked up
    venue = binance.runtime.venue("binance")
    assert venue.breaker.state() is BreakerState.CLOSED  # the venue answered every time
    assert venue.status().state == "up"


def test_a_read_refused_for_skew_is_not_retried_and_does_not_open_the_breaker(
    binance: BinanceRig,
):
    binance.sim.skew = 4.0
    binance.sim.time_skew = 0.0
    binance.live.adapter.exchange.options["recvWindow"] = 2000

    for _ in range(4):  # one guarded attempt each, more than the breaker's threshold (3)
        with pytest.raises(ClockSkew):
            binance.live.balances(binance.account_id)

    assert paths(binance) == [ACCOUNT, TIME, ACCOUNT] * 4
    assert binance.clock.slept == []  # no backoff: the guard does not retry it
    assert binance.runtime.venue("binance").breaker.state() is BreakerState.CLOSED
    binance.sim.skew = 0.0
    assert binance.live.balances(binance.account_id).of("BTC").free == Decimal("1")


def test_when_the_venues_clock_cannot_be_measured_the_refusal_says_so(binance: BinanceRig):
    binance.sim.skew = -3.0
    binance.sim.fail("GET", TIME, Fault("status", 503))

    with pytest.raises(ClockSkew) as skewed:
        binance.live.balances(binance.account_id)

    assert paths(binance) == [ACCOUNT, TIME]
    assert skewed.value.details["resync_error"].startswith("RequestTimeout")
    assert "could not be measured" in skewed.value.message
    assert offset_of(binance) is None


# --- invariants ---------------------------------------------------------------------------------


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(skew=st.floats(min_value=-120.0, max_value=120.0, allow_nan=False))
def test_whatever_the_skew_an_order_lands_exactly_once(shared_data: Path, skew: float):
    clock = SimClock()
    sim = BinanceSim(clock)
    sim.skew = skew
    with FakeVenue(clock=clock, handler=sim) as fake:
        rig = build_binance_rig(shared_data, fake, clock, sim)

        ack = rig.live.place_order(rig.account_id, limit_buy())

    assert ack.status is OrderStatus.OPEN
    assert list(sim.orders) == ["dstaclock0001"]
    posts = [r for r in fake.requests if r.method == "POST"]
    assert len(posts) == 1 + sim.rejected_1021  # one more POST per refusal ...
    assert sim.rejected_1021 <= 1  # ... and at most one refusal


# --- one measurement for a burst of refusals -----------------------------------------------------


def test_concurrent_resyncs_measure_once():
    clock = SimClock()
    offsets = ClockOffset(clock=clock)
    started, release = threading.Event(), threading.Event()
    probes: list[str] = []

    def slow_probe() -> int:
        probes.append("probe")
        started.set()
        release.wait(5)
        clock.advance(0.1)  # the measurement ends after both refusals
        return -5000

    refused_at = clock()
    first = threading.Thread(target=lambda: offsets.measure(slow_probe, newer_than=refused_at))
    first.start()
    assert started.wait(5)
    second_result: list[int | None] = []

    def quick_probe() -> int:
        probes.append("probe")
        return 0

    second = threading.Thread(
        target=lambda: second_result.append(offsets.measure(quick_probe, newer_than=refused_at))
    )
    second.start()
    release.set()
    first.join(5)
    second.join(5)

    assert probes == ["probe"]  # the second refusal reused the first one's measurement
    assert second_result == [-5000]
    assert offsets.reading().offset_ms == -5000
