"""A relay process SIGKILLed mid-delivery: the restarted relay finishes the job, and every
subscriber's effect happens exactly once."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from dsta.kernel.bus import publish
from dsta.kernel.bus.models import InboxReceipt, OutboxMessage
from dsta.kernel.bus.tests.crash_events import BLOCKER, EFFECTS_TABLE, RECORDER, CrashProbed

REPO_ROOT = Path(__file__).resolve().parents[4]
State = OutboxMessage.State


def _database_url() -> str:
    """The test database, as DATABASE_URL for a subprocess."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def _relay(crash_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DSTA_BUS_CRASH_DIR": str(crash_dir),
        "BUS_URL": "",  # the in-process transport: the relay runs the handlers itself
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "manage.py", "run_relay", "--import"]
    command += ["dsta.kernel.bus.tests.crash_subscribers", *args]
    return subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(predicate: Any, process: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60
    while not predicate():
        if process.poll() is not None:
            pytest.fail(
                f"relay exited before {what}: {process.stdout.read() if process.stdout else ''}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _effects() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT subscriber, COUNT(*) FROM {EFFECTS_TABLE} GROUP BY subscriber")
        return dict(cursor.fetchall())


@pytest.fixture
def crash_effects() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {EFFECTS_TABLE} (subscriber varchar(200), event_id varchar(64))"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {EFFECTS_TABLE}")


@pytest.mark.django_db(transaction=True)
def test_relay_killed_mid_delivery_resumes_exactly_once(
    tmp_path: Path, settings: Any, crash_effects: None
) -> None:
    settings.BUS_DELIVER_ON_COMMIT = False  # this process only publishes
    probe = CrashProbed()
    publish(probe)

    first = _relay(tmp_path, "--lease-seconds", "1", "--interval", "0.05")
    try:
        _wait_for((tmp_path / "blocked").exists, first, "the blocker handler started")
        # Between the commit and the delivery: the recorder's effect and receipt are
        # committed, the blocker's are in an open transaction, the row is not delivered.
        assert _effects() == {RECORDER: 1}
        assert OutboxMessage.objects.get(event_id=probe.id).state == State.PENDING
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    assert first.returncode == -signal.SIGKILL
    assert _effects() == {RECORDER: 1}  # the blocker's effect died with its transaction

    (tmp_path / "release").touch()
    second = _relay(tmp_path, "--interval", "0.05")
    try:
        # The killed relay's lease (1 s) runs out, then the new relay takes the row over.
        _wait_for(
            lambda: OutboxMessage.objects.get(event_id=probe.id).state == State.DELIVERED,
            second,
            "the restarted relay delivered the row",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=30)
    assert second.returncode == 0, output
    assert "relay stopped" in output

    assert _effects() == {RECORDER: 1, BLOCKER: 1}
    row = OutboxMessage.objects.get(event_id=probe.id)
    assert (row.state, row.attempts) == (State.DELIVERED, 2)
    assert set(
        InboxReceipt.objects.filter(event_id=probe.id).values_list("subscriber", flat=True)
    ) == {
        RECORDER,
        BLOCKER,
    }
