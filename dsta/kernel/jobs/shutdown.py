"""Graceful stop for long-running commands: SIGTERM/SIGINT set an event instead of killing."""

import logging
import signal
import sys
import threading
from types import FrameType

logger = logging.getLogger(__name__)


def install_stop_handlers(stop: threading.Event) -> None:
    """First SIGTERM/SIGINT: set ``stop`` so loops finish their current work. Second: exit now.

    Only the main thread may install handlers; elsewhere (tests) this is a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            logger.warning("second %s: exiting without waiting", signal.Signals(signum).name)
            sys.exit(1)
        logger.info("%s received: stopping gracefully", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
