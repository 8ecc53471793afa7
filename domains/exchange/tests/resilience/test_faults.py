"""Fault injection against a simulated Binance, through ccxt's real request path.

The venue (``fake_binance.BinanceSim``) keeps its own books: orders by client order id, the
request weight of every request per Binance's docs. Faults are injected at the venue (5xx,
429/418 with Retry-After, malformed JSON, the documented "execution status unknown" 503 after
the order was recorded) and at the transport (timeouts before and after delivery). Time is a
manual clock: backoffs, Retry-After and breaker cool-downs pass without sleeping.
"""

from decimal import Decimal
from typing import Any

import pytest

from domains.exchange.api import (
    InsufficientFunds,
    OrderRequest,
    OrderStatus,
    VenueRateLimited,
    VenueUnavailable,
)
from domains.exchange.events import VenueStatusChanged
from domains.exchange.services.resilience.breaker import BreakerState
from domains.exchange.services.resilience.ratelimit import Bucket
from domains.exchange.services.resilience.venues import BucketSpec
from domains.exchange.tests.fake_binance import Fault
from domains.exchange.tests.fake_venue import CONNECT_TIMEOUT, CONNECTION_REFUSED, READ_TIMEOUT
from domains.exchange.tests.resilience.conftest import BinanceRig

ORDER = "/api/v3/order"
DEPTH = "/api/v3/depth"
TICKER = "/api/v3/ticker/24hr"


def limit_buy(client_order_id: str = "dstafault0001") -> OrderRequest:
    return OrderRequest(
        symbol="BTC/USDT",
        side="buy",  # type: ignore[arg-type]
        type="limit",  # type: ignore[arg-type]
        amount=Decimal("0.001"),
        price=Decimal("50000"),
        client_order_id=client_order_id,
    )


def posts(rig: BinanceRig) -> list[str]:
    return [r.path for r in rig.fake.requests if (r.method, r.path) == ("POST", ORDER)]


# --- no duplicate order -------------------------------------------------------------------------


def test_a_timeout_after_the_order_landed_is_resolved_by_lookup_not_by_resending(
    binance: BinanceRig,
):
    binance.fake.fail_next(READ_TIMEOUT)  # the venue records the order; its answer is lost

    ack = binance.live.place_order(binance.account_id, limit_buy())

    assert (ack.client_order_id, ack.status) == ("dstafault0001", OrderStatus.OPEN)
    assert binance.sim.order_posts == ["dstafault0001"]  # one POST reached the venue
    assert list(binance.sim.orders) == ["dstafault0001"]
    lookups = [r for r in binance.fake.requests if (r.method, r.path) == ("GET", ORDER)]
    assert [r.query["origClientOrderId"] for r in lookups] == ["dstafault0001"]


def test_binance_503_execution_status_unknown_is_looked_up_before_anything_else(
    binance: BinanceRig,
):
    # Binance's docs: a 503 "Send status unknown; execution status unknown" may have executed.
    binance.sim.fail("POST", ORDER, Fault("status_after", 503))

    ack = binance.live.place_order(binance.account_id, limit_buy())

    assert ack.venue_order_id == str(binance.sim.orders["dstafault0001"]["orderId"])
    assert binance.sim.order_posts == ["dstafault0001"]


@pytest.mark.parametrize(
    "fault", [CONNECT_TIMEOUT, CONNECTION_REFUSED], ids=["connect-timeout", "refused"]
)
def test_an_order_that_never_arrived_is_sent_again_only_after_lookups_say_so(
    binance: BinanceRig, fault: str
):
    binance.fake.fail_next(fault)

    ack = binance.live.place_order(binance.account_id, limit_buy())

    assert ack.status is OrderStatus.OPEN
    assert binance.sim.order_posts == ["dstafault0001"]  # the first never reached the venue
    methods = [(r.method, r.path) for r in binance.fake.requests if r.path == ORDER]
    lookups = binance.runtime.venue("binance").settings.retry.lookup_attempts
    assert methods == [("GET", ORDER)] * lookups + [("POST", ORDER)]


def test_a_5xx_is_looked_up_and_left_unknown_never_sent_again(binance: BinanceRig):
    # A 502 (here before the venue recorded it) cannot tell whether the order was processed:
    # a gateway in front of the venue may answer it after forwarding the request. The lookups
    # say "no such order", which may be lag: the outcome is unknown, for the reconciler.
    binance.sim.fail("POST", ORDER, Fault("status", 502, body="<html>502 Bad Gateway</html>"))

    with pytest.raises(VenueUnavailable) as caught:
        binance.live.place_order(binance.account_id, limit_buy())

    assert caught.value.details["outcome"] == "unknown"
    assert len(posts(binance)) == 1
    assert binance.sim.orders == {}


def test_a_429_is_a_refusal_before_processing_sent_again_after_the_lookups(
    binance: BinanceRig,
):
    body = '{"code":-1003,"msg":"Too many requests."}'
    binance.sim.fail("POST", ORDER, Fault("status", 429, body=body, headers={"Retry-After": "1"}))

    ack = binance.live.place_order(binance.account_id, limit_buy())

    assert ack.status is OrderStatus.OPEN
    assert len(posts(binance)) == 2
    assert binance.sim.order_posts == ["dstafault0001"]  # the first was refused unprocessed


def test_an_order_that_may_have_landed_is_never_sent_again_though_lookups_lag(
    binance: BinanceRig,
):
    """Binance's 503 "execution status unknown" after it recorded the order; its lookups lag
    ("Order does not exist." three times) while the order fills and ends, as a market order
    does at once. Binance accepts the client order id of an order that is done: a second POST
    would be a second execution. Only a request that provably never reached the venue (the
    connection was not even made) is sent again; this one is reported unknown, for the
    reconciler."""
    binance.sim.fail("POST", ORDER, Fault("status_after", 503))
    lag = '{"code":-2013,"msg":"Order does not exist."}'
    binance.sim.fail("GET", ORDER, *(Fault("status", 400, body=lag) for _ in range(3)))
    sim = binance.sim

    def venue(request: Any) -> Any:
        if (request.method, request.path) == ("GET", ORDER):
            order = sim.orders["dstafault0001"]
            if order["status"] == "NEW":
                sim.fill("dstafault0001", order["origQty"])  # done before the lookups see it
        return sim(request)

    binance.fake.handler = venue

    with pytest.raises(VenueUnavailable) as caught:
        binance.live.place_order(binance.account_id, limit_buy())

    assert binance.sim.order_posts == ["dstafault0001"]  # one order, one execution
    assert caught.value.details["outcome"] == "unknown"
    assert caught.value.details["client_order_id"] == "dstafault0001"
    assert "not placed" not in caught.value.message


def test_when_the_venue_cannot_be_asked_the_outcome_is_reported_unknown_with_the_id(
    binance: BinanceRig,
):
    binance.fake.fail_next(READ_TIMEOUT, CONNECT_TIMEOUT, CONNECT_TIMEOUT, CONNECT_TIMEOUT)

    with pytest.raises(VenueUnavailable) as caught:
        binance.live.place_order(binance.account_id, limit_buy())

    assert caught.value.details["outcome"] == "unknown"
    assert caught.value.details["client_order_id"] == "dstafault0001"
    assert binance.sim.order_posts == ["dstafault0001"]  # never sent twice


def test_a_rejected_order_is_final_never_retried(binance: BinanceRig):
    binance.sim.fail(
        "POST",
        ORDER,
        Fault(
            "status",
            400,
            body='{"code":-2010,"msg":"Account has insufficient balance for requested action."}',
        ),
    )

    with pytest.raises(InsufficientFunds):
        binance.live.place_order(binance.account_id, limit_buy())

    assert [r.path for r in binance.fake.requests] == [ORDER]  # no lookup, no retry


# --- reads: retries, Retry-After, failover, malformed JSON ------------------------------------


def test_a_5xx_burst_on_a_read_is_retried_with_backoff_on_the_next_hosts(binance: BinanceRig):
    binance.sim.fail("GET", DEPTH, Fault("status", 503), Fault("status", 502))

    book = binance.live.order_book("BTC/USDT", None)

    assert book.sequence == 1000
    assert binance.hosts() == ["api.binance.com", "api1.binance.com", "api2.binance.com"]
    assert len(binance.clock.slept) == 2  # two backoffs, simulated
    assert all(0 <= delay <= 0.2 for delay in binance.clock.slept)  # full jitter, base 0.1
    # The next call stays on the host that worked.
    binance.live.ticker("BTC/USDT")
    assert binance.hosts()[-1] == "api2.binance.com"


def test_429_with_retry_after_is_honoured_and_holds_back_every_request(binance: BinanceRig):
    binance.sim.fail(
        "GET",
        TICKER,
        Fault(
            "status",
            429,
            body='{"code":-1003,"msg":"Too many requests."}',
            headers={"Retry-After": "7"},
        ),
    )
    start = binance.clock()

    ticker = binance.live.ticker("BTC/USDT")

    assert ticker.bid == Decimal("60000.00")
    retry = [r for r in binance.fake.requests if r.path == TICKER][-1]
    assert retry.at - start >= 7  # not before the venue said
    # The penalty is on the venue's shared bucket: the next request also waited for it.
    assert binance.clock() - start >= 7


def test_418_with_a_long_ban_fails_at_once_as_rate_limited(binance: BinanceRig):
    binance.sim.fail(
        "GET",
        TICKER,
        Fault("status", 418, body='{"code":-1003,"msg":"banned"}', headers={"Retry-After": "600"}),
    )

    with pytest.raises(VenueRateLimited) as caught:
        binance.live.ticker("BTC/USDT")

    assert caught.value.details["retry_after"] == "600"
    assert len([r for r in binance.fake.requests if r.path == TICKER]) == 1
    # Meanwhile nothing goes out: our limiter holds the ban for every request of the venue.
    with pytest.raises(VenueRateLimited) as held:
        binance.live.order_book("BTC/USDT", None)
    assert held.value.details["source"] == "limiter"
    assert len(binance.fake.requests) == 1


def test_malformed_json_is_a_venue_fault_retried_not_a_crash(binance: BinanceRig):
    binance.sim.fail("GET", TICKER, Fault("malformed"), Fault("malformed", body="<html>oops"))

    ticker = binance.live.ticker("BTC/USDT")

    assert ticker.ask == Decimal("60001.00")
    assert len([r for r in binance.fake.requests if r.path == TICKER]) == 3


def test_malformed_json_every_time_ends_as_venue_unavailable(binance: BinanceRig):
    binance.sim.fail("GET", TICKER, *[Fault("malformed")] * 4)

    with pytest.raises(VenueUnavailable):
        binance.live.ticker("BTC/USDT")


def test_a_venue_switched_off_by_an_admin_sends_nothing(binance: BinanceRig):
    binance.configure(enabled=False)
    with pytest.raises(VenueUnavailable) as refused:
        binance.live.ticker("BTC/USDT")
    assert refused.value.details["disabled"] is True
    assert binance.fake.requests == []
    assert binance.runtime.venue("binance").breaker.state() is BreakerState.CLOSED
    assert binance.runtime.venue("binance").status().state == "down"


# --- the breaker --------------------------------------------------------------------------------


def test_the_breaker_opens_refuses_without_sending_probes_and_closes(binance: BinanceRig):
    binance.configure(retry=binance.settings["binance"].retry.__class__(attempts=1))
    for _ in range(3):  # threshold 3 (the rig's settings)
        binance.fake.fail_next(CONNECTION_REFUSED)
        with pytest.raises(VenueUnavailable):
            binance.live.ticker("BTC/USDT")
    breaker = binance.runtime.venue("binance").breaker
    assert breaker.state() is BreakerState.OPEN
    sent = len(binance.fake.requests)

    with pytest.raises(VenueUnavailable) as refused:
        binance.live.ticker("BTC/USDT")
    assert refused.value.details["breaker"] == "open"
    assert refused.value.details["retry_after"] == 20
    assert len(binance.fake.requests) == sent  # nothing was sent

    binance.clock.advance(20)  # the cool-down
    ticker = binance.live.ticker("BTC/USDT")  # the probe
    assert ticker.bid == Decimal("60000.00")
    assert breaker.state() is BreakerState.CLOSED
    changes = [
        (e.component, e.previous, e.status)
        for e in binance.events
        if isinstance(e, VenueStatusChanged)
    ]
    assert changes == [
        ("breaker", "closed", "open"),
        ("breaker", "open", "half_open"),
        ("breaker", "half_open", "closed"),
    ]
    status = binance.runtime.venue("binance").status()
    assert (status.breaker, status.state) == ("closed", "up")


def test_a_failed_probe_opens_the_breaker_again(binance: BinanceRig):
    binance.configure(retry=binance.settings["binance"].retry.__class__(attempts=1))
    for _ in range(3):
        binance.fake.fail_next(CONNECT_TIMEOUT)
        with pytest.raises(VenueUnavailable):
            binance.live.order_book("BTC/USDT", None)
    binance.clock.advance(20)
    binance.sim.fail("GET", DEPTH, Fault("status", 500))

    with pytest.raises(VenueUnavailable):
        binance.live.order_book("BTC/USDT", None)

    breaker = binance.runtime.venue("binance").breaker
    assert breaker.state() is BreakerState.OPEN
    assert breaker.record().reason.startswith("probe failed")
    assert binance.runtime.venue("binance").status().state == "down"


def test_refusals_from_the_venue_do_not_open_the_breaker(binance: BinanceRig):
    body = '{"code":-2010,"msg":"Account has insufficient balance for requested action."}'
    for n in range(5):
        binance.sim.fail("POST", ORDER, Fault("status", 400, body=body))
        with pytest.raises(InsufficientFunds):
            binance.live.place_order(binance.account_id, limit_buy(f"dstarefused{n}"))
    assert binance.runtime.venue("binance").breaker.state() is BreakerState.CLOSED


# --- the rate limit, counted by the venue -------------------------------------------------------


def run_mixed_load(rig: BinanceRig, calls: int) -> None:
    """Reads and orders of every weight: ticker 2, depth 5 or 25, lookup 4, new order 1."""
    for n in range(calls):
        kind = n % 5
        if kind == 0:
            rig.live.ticker("BTC/USDT")
        elif kind == 1:
            rig.live.order_book("BTC/USDT", 500 if n % 2 else None)
        elif kind == 2:
            rig.live.place_order(rig.account_id, limit_buy(f"dstaload{n:05d}"))
        elif kind == 3:
            rig.live.get_order(rig.account_id, "BTC/USDT", f"dstaload{n - 1:05d}")
        else:
            rig.live.balances(rig.account_id)


def small_budget(rig: BinanceRig, *, ours: float) -> None:
    """A venue limit of 120 weight/minute (fast to exhaust); ours at ``ours``."""
    rig.sim.weight_limit = 120
    spec = BucketSpec("request_weight", "venue", "Binance request weight", ours, 60, 0.25)
    orders = rig.settings["binance"].buckets[1]
    rig.configure(buckets=(spec, orders), max_wait=120.0)


def test_the_rate_limit_is_never_exceeded_at_the_venue(binance: BinanceRig):
    small_budget(binance, ours=120)
    start = binance.clock()

    run_mixed_load(binance, 60)  # ~ 500 weight: four times the budget

    assert binance.sim.rejected_429 == 0
    assert binance.sim.max_sliding_weight() <= 120  # any 60 s window, however aligned
    minutes = {int(t // 60) for t, _ in binance.sim.weights}
    assert all(binance.sim.used_weight(m * 60) <= 120 for m in minutes)
    assert sum(w for _, w in binance.sim.weights) > 400  # the work was done ...
    assert binance.clock() - start > 180  # ... by waiting (simulated), not by luck


def test_without_our_limiter_the_same_load_is_refused_by_the_venue(binance: BinanceRig):
    # The control: the fake venue does enforce its limit, so the test above can fail.
    small_budget(binance, ours=100_000)
    with pytest.raises(VenueRateLimited):
        run_mixed_load(binance, 60)
    assert binance.sim.rejected_429 > 0


def test_our_weight_count_equals_the_venues(binance: BinanceRig):
    run_mixed_load(binance, 10)  # no time passes: nothing refills
    bucket = Bucket("binance:request_weight", 6000, 60)
    ours = binance.runtime.limiter.in_use(bucket)
    assert ours == pytest.approx(sum(w for _, w in binance.sim.weights))
