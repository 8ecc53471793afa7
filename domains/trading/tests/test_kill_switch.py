"""The trading kill switch follows ``trading.kill_switch`` through ConfigChanged events."""

import time
from collections.abc import Iterator
from typing import Any

import pytest

from domains.core.api import config_api
from domains.core.events import ConfigChanged
from domains.trading.handlers import on_config_changed_update_kill_switch
from domains.trading.services.kill_switch import (
    KILL_SWITCH_KEY,
    kill_switch_forget,
    kill_switch_state,
    kill_switch_use_clock,
    trading_halted,
)
from dsta.kernel import rpc

pytestmark = pytest.mark.django_db(transaction=True)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(settings: Any) -> Iterator[FakeClock]:
    """A frozen clock and a fresh kill switch state, trading in the "paper" environment."""
    settings.DSTA_CONFIG_ENVIRONMENT = "paper"
    settings.DSTA_KILL_SWITCH_MAX_AGE_SECONDS = 5.0
    fake = FakeClock()
    kill_switch_use_clock(fake)
    kill_switch_forget()
    yield fake
    kill_switch_forget()
    kill_switch_use_clock(time.monotonic)


def set_switch(value: bool, environment: str) -> None:
    config_api().set(key=KILL_SWITCH_KEY, value=value, environment=environment, reason="test")


def test_the_handler_halts_and_resumes_trading(clock: FakeClock) -> None:
    assert trading_halted() is False  # loaded once: the key's default
    assert kill_switch_state().source == "key_default"  # type: ignore[union-attr]
    set_switch(True, "paper")
    # The clock has not moved, so only the delivered event can have changed the state.
    assert trading_halted() is True
    state = kill_switch_state()
    assert state is not None
    assert (state.source, state.version) == ("environment", 1)
    set_switch(False, "paper")
    assert trading_halted() is False


def test_default_counts_until_the_environment_has_its_own_value(clock: FakeClock) -> None:
    assert trading_halted() is False
    set_switch(True, "default")
    assert trading_halted() is True
    set_switch(True, "live")  # another environment: no effect either way
    set_switch(False, "paper")
    assert trading_halted() is False
    set_switch(True, "default")  # shadowed by paper's own value now
    assert trading_halted() is False


def test_redelivered_or_stale_events_never_undo_a_newer_state(clock: FakeClock) -> None:
    set_switch(True, "paper")
    set_switch(False, "paper")
    set_switch(True, "paper")
    assert trading_halted() is True
    stale = ConfigChanged(
        key=KILL_SWITCH_KEY, environment="paper", version=2, value=False, changed_by=None
    )
    on_config_changed_update_kill_switch(stale)
    assert trading_halted() is True
    other_key = ConfigChanged(
        key="trading.something_else", environment="paper", version=9, value=False, changed_by=None
    )
    on_config_changed_update_kill_switch(other_key)
    assert trading_halted() is True


def test_a_missed_event_is_caught_up_once_the_state_is_old(clock: FakeClock, settings: Any) -> None:
    assert trading_halted() is False
    # Events stay in the outbox: as if another process of the subscriber group consumed them.
    settings.BUS_DELIVER_ON_COMMIT = False
    set_switch(True, "paper")
    assert trading_halted() is False
    clock.now += 5.1
    assert trading_halted() is True


def test_it_fails_closed_when_the_configuration_is_unreachable(
    clock: FakeClock, settings: Any
) -> None:
    settings.DSTA_REMOTE_SERVICES = {"core": "http://127.0.0.1:9"}  # nothing listens there
    rpc.clear_client_cache()
    try:
        assert trading_halted() is True
        assert kill_switch_state() is None  # a failure is not remembered as a state
    finally:
        settings.DSTA_REMOTE_SERVICES = {}
        rpc.clear_client_cache()
    assert trading_halted() is False
