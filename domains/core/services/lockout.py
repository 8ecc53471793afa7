"""Login throttling: repeated failures for one username from one address lock that pair out
for a cool-off, then it may try again (never a permanent lock).

Counted in the default cache (Redis in production, so all web processes count together).
Cache keys hash the username: it is user input and may hold any character.
"""

import hashlib
import time

from django.core.cache import cache

from domains.core.services import auth_settings

# Seconds since the epoch; a test may put its own clock here (no sleeping through a cool-off).
clock = time.time


def _pair(username: str, ip: str) -> str:
    return hashlib.sha256(f"{username.strip().lower()}\x00{ip}".encode()).hexdigest()[:32]


def _failures_key(username: str, ip: str) -> str:
    return f"core:login:failures:{_pair(username, ip)}"


def _lock_key(username: str, ip: str) -> str:
    return f"core:login:lock:{_pair(username, ip)}"


def lockout_remaining(username: str, ip: str) -> int:
    """Seconds until ``username`` may try again from ``ip`` (0: not locked)."""
    unlock_at = cache.get(_lock_key(username, ip))
    if unlock_at is None:
        return 0
    return max(0, int(float(unlock_at) - clock() + 0.999))


def login_failure_count(username: str, ip: str) -> int:
    """How many failures are counted for the pair in the current window."""
    return int(cache.get(_failures_key(username, ip)) or 0)


def register_login_failure(username: str, ip: str) -> int:
    """Count one failure; once the limit is reached, lock the pair out. Returns the lock's
    length in seconds when this failure locked it, else 0. Failures while locked don't count
    (they would only shorten the next allowance)."""
    if lockout_remaining(username, ip):
        return 0
    key = _failures_key(username, ip)
    # add() starts the window only if no count exists; incr() is atomic in every backend.
    cache.add(key, 0, timeout=auth_settings.login_failure_window_seconds())
    try:
        failures = cache.incr(key)
    except ValueError:  # the window expired between add and incr
        cache.set(key, 1, timeout=auth_settings.login_failure_window_seconds())
        failures = 1
    if failures < auth_settings.login_max_failures():
        return 0
    seconds = auth_settings.login_lockout_seconds()
    cache.set(_lock_key(username, ip), clock() + seconds, timeout=seconds)
    cache.delete(key)
    return seconds


def clear_login_failures(username: str, ip: str) -> None:
    """A successful login forgets the pair's failures."""
    cache.delete(_failures_key(username, ip))
