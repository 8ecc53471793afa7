"""The jobs app's settings, each with the default the embedded mode needs.

Read at call time (not import time) so tests and ``override_settings`` see changes.
"""

import os
import socket
from datetime import timedelta

from django.conf import settings


def broker_kind() -> str:
    """``inprocess``, ``redis`` or ``rabbitmq`` (settings.BROKER_KIND, derived from BROKER_URL)."""
    return str(getattr(settings, "BROKER_KIND", "inprocess") or "inprocess")


def broker_url() -> str:
    return str(getattr(settings, "BROKER_URL", "") or "")


def namespace() -> str:
    """Prefix of every Redis key / RabbitMQ queue, so deployments can share one server."""
    return str(getattr(settings, "DSTA_NAMESPACE", "dsta") or "dsta")


def worker_threads() -> int:
    return int(getattr(settings, "DSTA_WORKER_THREADS", 4))


def heartbeat_interval() -> timedelta:
    """How often a worker stamps the heartbeat of the jobs it runs."""
    return timedelta(seconds=float(getattr(settings, "DSTA_JOBS_HEARTBEAT_SECONDS", 10.0)))


def orphan_after() -> timedelta:
    """A running job whose heartbeat is older than this has lost its worker.

    Several heartbeat intervals, so one slow database write never orphans a live job.
    """
    return timedelta(seconds=float(getattr(settings, "DSTA_JOBS_ORPHAN_AFTER_SECONDS", 60.0)))


def worker_id() -> str:
    """This process's identity in ``Job.worker_id``: ``<name>:<pid>``.

    The name (DSTA_WORKER_NAME, default the host name) plus the pid is stable across a restart
    in a container (same host name, pid 1), so a restarted worker recognises its own orphans
    at once instead of waiting for their heartbeat to go stale.
    """
    name = str(getattr(settings, "DSTA_WORKER_NAME", "") or "") or socket.gethostname()
    return f"{name}:{os.getpid()}"
