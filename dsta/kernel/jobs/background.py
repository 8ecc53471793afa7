"""Long-running loops that domains contribute to the embedded process (``manage.py serve``).

A domain that keeps something alive outside jobs (a venue connection, a supervisor of
connections) registers a loop in its ``AppConfig.ready``; ``serve`` runs each one in its own
thread, gives it an event to watch, sets the event on shutdown and waits for the loop to
return. In a split deployment the same loop runs as its own process (a management command),
and ``serve`` is not used, so nothing runs twice.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass

BackgroundLoop = Callable[[threading.Event], None]


@dataclass(frozen=True)
class BackgroundService:
    name: str
    loop: BackgroundLoop  # runs until its event is set, then returns
    description: str = ""


_SERVICES: dict[str, BackgroundService] = {}
_LOCK = threading.Lock()


def register_background(name: str, loop: BackgroundLoop, *, description: str = "") -> None:
    """Register (or replace, on a repeated ``ready``) the loop named ``name``."""
    with _LOCK:
        _SERVICES[name] = BackgroundService(name=name, loop=loop, description=description)


def background_services() -> list[BackgroundService]:
    """The registered loops, by name."""
    with _LOCK:
        return [_SERVICES[name] for name in sorted(_SERVICES)]
