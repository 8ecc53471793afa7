"""The account-stream supervisor as ``manage.py serve``'s background loop."""

import threading

import pytest

from domains.exchange.services.user_streams import run_account_streams
from dsta.kernel.jobs.api import background_services

pytestmark = pytest.mark.django_db(transaction=True)


def test_serve_gets_the_account_streams_as_a_background_loop() -> None:
    names = [service.name for service in background_services()]
    assert "exchange.account_streams" in names


def test_the_loop_follows_the_database_until_its_stop_event_and_never_sets_it() -> None:
    stop = threading.Event()
    thread = threading.Thread(
        target=run_account_streams, args=(stop,), kwargs={"poll_interval": 0.05}
    )
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive()  # polling the (empty) list of live accounts
    assert not stop.is_set()
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
