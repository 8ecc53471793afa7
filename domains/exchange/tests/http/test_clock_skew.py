"""A skewed clock as the API and ``exchange_check`` show it (the simulated Binance keeps its own
clock: ``BinanceSim.skew``)."""

import re
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from domains.exchange.tests.fake_binance import Fault
from domains.exchange.tests.http.conftest import error_of
from domains.exchange.tests.http.test_endpoints import LIMIT_BUY, open_live
from domains.exchange.tests.resilience.conftest import BinanceRig

pytestmark = pytest.mark.django_db


def test_a_skew_the_resync_cannot_fix_is_a_clear_503_and_no_order(
    venue_rig: BinanceRig, trader: Any, client_for: Callable[[Any], APIClient]
):
    client = client_for(trader)
    open_live(client)
    venue_rig.sim.skew = -3.0  # our clock 3 s ahead of the venue's ...
    venue_rig.sim.time_skew = 0.0  # ... which its time call does not show

    response = client.post("/api/v1/exchange/binance/order", LIMIT_BUY, format="json")

    assert response.status_code == 503
    error = error_of(response)
    assert error["code"] == "clock_skew"
    assert error["details"]["outcome"] == "not_placed"
    assert "NTP" in error["message"]
    assert venue_rig.sim.orders == {}
    assert venue_rig.sim.rejected_1021 == 2  # the order and its one retry after the resync
    status = client.get("/api/v1/exchange/binance/status").json()
    assert abs(status["clock_offset_ms"]) < 250
    assert status["breaker"] == "closed"


def test_the_status_shows_no_offset_before_one_was_measured(
    venue_rig: BinanceRig, trader: Any, client_for: Callable[[Any], APIClient]
):
    status = client_for(trader).get("/api/v1/exchange/binance/status")
    assert status.status_code == 200
    assert status.json()["clock_offset_ms"] is None


def run_check(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("exchange_check", "binance", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_exchange_check_prints_the_offset_and_warns_past_a_second(venue_rig: BinanceRig):
    venue_rig.configure(clock_check_interval=3600.0)
    venue_rig.sim.skew = -2.5  # this host's clock is 2.5 s ahead

    out, err = run_check()

    found = re.search(r"clock offset: \+(\d+) ms \(our clock minus binance's\)", out)
    assert found is not None, out
    assert abs(int(found.group(1)) - 2500) < 250
    assert "WARNING: this host's clock is 2.5 s ahead of binance's" in err
    assert "NTP" in err


def test_exchange_check_stays_quiet_about_a_clock_in_step(venue_rig: BinanceRig):
    venue_rig.configure(clock_check_interval=3600.0)
    out, err = run_check()
    assert re.search(r"clock offset: [+-]\d+ ms", out)
    assert "WARNING" not in err


def test_exchange_check_says_when_the_offset_could_not_be_measured(venue_rig: BinanceRig):
    out, _ = run_check()  # the rig measures nothing lazily, and nothing was refused
    assert "clock offset: not measured" in out


def test_exchange_check_explains_a_clock_skew_refusal(venue_rig: BinanceRig):
    # The command's calls are unsigned, so Binance would not check their timestamps; the fake
    # is scripted to refuse the ticker with -1021 anyway, to see how the command reports it.
    refusal = Fault(
        "status",
        400,
        body='{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}',
    )
    venue_rig.sim.fail("GET", "/api/v3/ticker/24hr", refusal, refusal)

    with pytest.raises(CommandError) as failed:
        call_command("exchange_check", "binance")

    assert failed.value.returncode == 1
    assert str(failed.value).startswith("clock_skew: binance still refuses")
    assert "(clock offset: " in str(failed.value)
