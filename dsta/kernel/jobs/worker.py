"""Running dramatiq workers inside our own processes (``serve``, ``run_worker``, tests)."""

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

import dramatiq
from django.db import connections
from django.utils import timezone

from dsta.kernel.jobs import conf
from dsta.kernel.jobs.broker import get_broker
from dsta.kernel.jobs.models import Job

logger = logging.getLogger(__name__)


class WorkerHeartbeat(threading.Thread):
    """Stamps ``heartbeat_at`` of every job this process runs, every ``interval``.

    Progress writes stamp it too; this thread keeps a job that reports rarely (one long
    model fit) from looking orphaned while its process is alive.
    """

    def __init__(self, *, worker_id: str, interval: timedelta) -> None:
        super().__init__(name="dsta-job-heartbeat", daemon=True)
        self.worker_id = worker_id
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            while not self._stop_event.wait(self.interval.total_seconds()):
                try:
                    self.beat()
                except Exception:  # a database hiccup must not end the heartbeat for good
                    logger.exception("job heartbeat failed")
        finally:
            connections.close_all()

    def beat(self) -> int:
        """Stamp now on this worker's running jobs; returns how many."""
        return Job.objects.filter(status=Job.Status.RUNNING, worker_id=self.worker_id).update(
            heartbeat_at=timezone.now()
        )

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join()


@dataclass
class RunningWorker:
    """A started dramatiq worker plus its heartbeat; ``stop()`` undoes ``start_worker``."""

    broker: dramatiq.Broker
    worker: dramatiq.Worker
    heartbeat: WorkerHeartbeat

    def join(self) -> None:
        """Wait until the messages already taken are processed (tests)."""
        self.worker.join()

    def stop(self, timeout: timedelta = timedelta(seconds=30)) -> None:
        """Let running messages finish (up to ``timeout``), then stop every thread."""
        self.worker.stop(timeout=int(timeout.total_seconds() * 1000))
        # Worker.start() added a middleware that starts consumers for newly declared queues;
        # leave it on the broker and a later queue would start threads for a stopped worker.
        self.broker.middleware[:] = [
            m for m in self.broker.middleware if getattr(m, "worker", None) is not self.worker
        ]
        self.heartbeat.stop()


def start_worker(
    broker: dramatiq.Broker | None = None,
    *,
    threads: int | None = None,
    queues: set[str] | None = None,
    worker_timeout_ms: int = 1000,
) -> RunningWorker:
    """Start a dramatiq Worker on ``broker`` (default: the configured one) in this process.

    ``worker_timeout_ms`` bounds how long an idle thread waits before it notices a stop.
    Call :func:`recover_orphans` before, not after: once this runs, jobs of this process
    are legitimately running.
    """
    broker = broker or get_broker()
    _boot_process(broker)
    worker = dramatiq.Worker(
        broker,
        queues=queues,
        worker_threads=threads or conf.worker_threads(),
        worker_timeout=worker_timeout_ms,
    )
    worker.start()
    heartbeat = WorkerHeartbeat(worker_id=conf.worker_id(), interval=conf.heartbeat_interval())
    heartbeat.start()
    logger.info(
        "dramatiq worker started: %d threads on %s",
        worker.worker_threads,
        type(broker).__name__,
    )
    return RunningWorker(broker=broker, worker=worker, heartbeat=heartbeat)


def _boot_process(broker: dramatiq.Broker) -> None:
    # dramatiq's CLI emits process_boot once per process; TimeLimit starts its watchdog
    # thread on it (and a thread cannot be started twice), so we emit it once per broker.
    if not getattr(broker, "_dsta_process_booted", False):
        broker.emit_after("process_boot")
        setattr(broker, "_dsta_process_booted", True)  # noqa: B010
