"""Handlers for the relay subprocess of the crash test (``run_relay --import`` this module).

``RECORDER`` commits its effect; ``BLOCKER`` writes its effect, says so with a marker file,
then waits for a release file: the test SIGKILLs the relay while it waits, so the
recorder's receipt is committed, the blocker's transaction is not, and the outbox row is
still undelivered.
"""

import os
import time
from pathlib import Path

from django.db import connection

from dsta.kernel.bus import subscribe
from dsta.kernel.bus.tests.crash_events import BLOCKER, EFFECTS_TABLE, RECORDER, CrashProbed

CRASH_DIR = Path(os.environ["DSTA_BUS_CRASH_DIR"])


def _record(subscriber: str, event: CrashProbed) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EFFECTS_TABLE} (subscriber, event_id) VALUES (%s, %s)",
            [subscriber, str(event.id)],
        )


def record(event: CrashProbed) -> None:
    _record(RECORDER, event)


def record_then_block(event: CrashProbed) -> None:
    _record(BLOCKER, event)
    (CRASH_DIR / "blocked").touch()
    deadline = time.monotonic() + 60
    while not (CRASH_DIR / "release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the crash test never killed or released this relay")
        time.sleep(0.02)


subscribe(CrashProbed, record, subscriber=RECORDER)
subscribe(CrashProbed, record_then_block, subscriber=BLOCKER)
