"""The trading kill switch: one boolean flag in the core configuration, mirrored in-process.

Order paths ask :func:`trading_halted` on every decision, so it must not cost a remote call:
the state is loaded from ``ConfigApi`` on first use (the database is not ready while apps
load) and kept current by the ConfigChanged handler. Because a broker bus hands each event to
one process of a subscriber group, the state is also re-read once it is older than
``settings.DSTA_KILL_SWITCH_MAX_AGE_SECONDS`` (5 s), which bounds how long any process can
miss a change. It fails closed: while the configuration cannot be read, trading is halted.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from domains.core.api import (
    DEFAULT_ENVIRONMENT,
    ConfigKeyDefinition,
    ConfigSource,
    config_api,
)
from dsta.kernel.errors import DstaError

logger = logging.getLogger(__name__)

KILL_SWITCH_KEY = "trading.kill_switch"
KILL_SWITCH_DEFINITION = ConfigKeyDefinition(
    key=KILL_SWITCH_KEY,
    description=(
        "Halts all trading when true: no new orders are placed by strategies, algorithms or "
        "the API. Set it per environment (paper, live) or in 'default' for all of them."
    ),
    schema={"type": "boolean"},
    default=False,
    is_feature_flag=True,
)
DEFAULT_MAX_AGE_SECONDS = 5.0


@dataclass(frozen=True)
class KillSwitchState:
    """What this process believes, which configuration row told it, and when it checked."""

    halted: bool
    source: ConfigSource
    version: int
    checked_at: float


_lock = threading.Lock()
_state: KillSwitchState | None = None
# Monotonic seconds; a test hands in its own clock through kill_switch_use_clock.
_clock: Callable[[], float] = time.monotonic


def trading_environment() -> str:
    """The configuration environment this process trades in (settings.DSTA_CONFIG_ENVIRONMENT)."""
    return str(getattr(settings, "DSTA_CONFIG_ENVIRONMENT", DEFAULT_ENVIRONMENT))


def _max_age_seconds() -> float:
    return float(getattr(settings, "DSTA_KILL_SWITCH_MAX_AGE_SECONDS", DEFAULT_MAX_AGE_SECONDS))


def trading_halted() -> bool:
    """Whether the kill switch is on for this process's environment (True if unreadable)."""
    state = _state
    if state is None or _clock() - state.checked_at > _max_age_seconds():
        try:
            state = kill_switch_load()
        except DstaError as exc:
            logger.error("kill switch unreadable, treating trading as halted: %s", exc)
            return True
    return state.halted


def kill_switch_state() -> KillSwitchState | None:
    """The in-process state as it stands (None before the first read)."""
    return _state


def kill_switch_load() -> KillSwitchState:
    """Read the effective kill switch from the configuration api and remember it."""
    global _state
    entry = config_api().get(key=KILL_SWITCH_KEY, environment=trading_environment())
    state = KillSwitchState(
        halted=entry.value is True, source=entry.source, version=entry.version, checked_at=_clock()
    )
    with _lock:
        before, _state = _state, state
    _log_transition(before, state)
    return state


def kill_switch_apply_change(*, environment: str, version: int, value: object) -> None:
    """Fold one written version of the kill switch into the in-process state.

    A write to this process's environment always wins over the fallback; a write to
    "default" counts only while this environment has no value of its own. Versions only move
    forward, so a redelivered or late event never undoes a newer one.
    """
    global _state
    if environment == trading_environment():
        source: ConfigSource = "environment"
    elif environment == DEFAULT_ENVIRONMENT:
        source = "default"
    else:
        return  # another environment's switch
    with _lock:
        before = _state
        if before is not None:
            _state = _folded(before, source=source, version=version, halted=value is True)
            after = _state
    if before is None:
        # Never read yet: the write is committed, so reading gives the effective state.
        kill_switch_load()
        return
    _log_transition(before, after)


def kill_switch_forget() -> None:
    """Drop the in-process state so the next check reads the configuration again."""
    global _state
    with _lock:
        _state = None


def kill_switch_use_clock(clock: Callable[[], float]) -> None:
    """Use ``clock`` (monotonic seconds) for the state's age; tests pass a fake one."""
    global _clock
    _clock = clock


def _folded(
    state: KillSwitchState, *, source: ConfigSource, version: int, halted: bool
) -> KillSwitchState:
    if source == "default" and state.source == "environment":
        return state  # shadowed by this environment's own value
    if source == state.source and version <= state.version:
        return state  # stale or redelivered
    return KillSwitchState(halted=halted, source=source, version=version, checked_at=_clock())


def _log_transition(before: KillSwitchState | None, after: KillSwitchState) -> None:
    if before is None or before.halted != after.halted:
        logger.warning(
            "trading kill switch is %s (%s v%d)",
            "ON: trading halted" if after.halted else "off",
            after.source,
            after.version,
        )


class InProcessKillSwitch:
    """``KillSwitchApi`` served from this process's mirror."""

    def halted(self) -> bool:
        return trading_halted()
