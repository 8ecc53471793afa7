"""The event of the relay crash test (imported by the test and by the relay subprocess)."""

from typing import ClassVar

from dsta.kernel.bus import Event


class CrashProbed(Event):
    """Published once; the crash test counts its effects per subscriber."""

    name: ClassVar[str] = "dsta.bustest.crash.probed.v1"


EFFECTS_TABLE = "bus_crash_effect"
RECORDER = "bustest.crash.recorder"
BLOCKER = "bustest.crash.blocker"
