"""Project-wide pytest fixtures: real services and the shared real-data folder.

On a user's clone without the servers or ``../shared/data`` those tests skip with a reason;
under CI (``CI=true``) a missing service or folder is a failure, never a skip.
"""

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

SHARED_DATA = Path(__file__).resolve().parent.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"

SERVICE_URLS = {
    "postgres": os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dsta"),
    "redis": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "rabbitmq": os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"),
}


def unavailable(reason: str) -> None:
    """Skip on a developer's machine; fail under CI, where everything must be present."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing dependency is a failure)")
    pytest.skip(reason)


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def service_url() -> Callable[[str], str]:
    """``service_url("redis")`` gives the URL of a running local server, or skips/fails."""

    def lookup(name: str) -> str:
        url = SERVICE_URLS[name]
        if not _reachable(url):
            unavailable(f"{name} is not reachable at {url}")
        return url

    return lookup


@pytest.fixture
def shared_data() -> Path:
    """The real market data and exchange responses in ``../shared/data`` (see its SOURCES.md)."""
    if not SHARED_DATA.is_dir():
        unavailable(f"real test data folder {SHARED_DATA} is missing")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _no_request_throttling(settings: Any) -> None:
    """API request throttling is off in tests: a whole suite's anonymous requests all come from
    127.0.0.1 within a minute. Tests of throttling set ``DSTA_THROTTLE_RATES`` themselves."""
    settings.DSTA_THROTTLE_RATES = {"user": None, "api_key": None, "anon": None}


@pytest.fixture(autouse=True)
def _fresh_kill_switch_mirror() -> Iterator[None]:
    """The kill switch's in-process mirror is global: a test that turned it on must not halt
    the orders of the next one (each test's database starts with it off)."""
    from domains.trading.services.kill_switch import kill_switch_forget

    kill_switch_forget()
    yield
    kill_switch_forget()
