"""What a running job function gets: progress reporting and cooperative cancellation."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.utils import timezone

from dsta.kernel.jobs.models import Job

logger = logging.getLogger(__name__)

MESSAGE_MAX_LENGTH = 500


class JobCancelled(Exception):  # a signal to unwind, named for what happened
    """Raised by :meth:`JobContext.check_cancelled` once a cancel was requested.

    Let it propagate out of the job function: the job is then recorded as cancelled.
    """


@dataclass
class _Pending:
    done: int
    total: int | None
    message: str


class JobContext:
    """Handed to a job function as its first argument.

    ``progress()`` writes at most every ``progress_interval`` seconds (and always the final
    ``done == total`` step); each write also stamps the heartbeat. ``check_cancelled()`` reads
    the cancel flag at most every ``cancel_check_interval`` seconds, so calling it in a tight
    loop is cheap.
    """

    def __init__(
        self,
        *,
        job_id: UUID,
        kind: str,
        params: dict[str, Any],
        owner_id: int | None,
        attempt: int,
        last_done: int,
        worker_id: str,
        progress_interval: float = 0.5,
        cancel_check_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job_id = job_id
        self.kind = kind
        self.params = params
        self.owner_id = owner_id
        #: 1 on the first run; higher when retried or resumed after a restart.
        self.attempt = attempt
        #: The ``done`` counter last stored before this attempt started (0 on a first run):
        #: where a resumable job left off, as far as its progress reports tell.
        self.last_done = last_done
        self.worker_id = worker_id
        self._progress_interval = progress_interval
        self._cancel_check_interval = cancel_check_interval
        self._clock = clock
        self._last_write = -float("inf")
        self._last_cancel_check = -float("inf")
        self._cancelled = False
        self._pending: _Pending | None = None

    @property
    def resumed(self) -> bool:
        """True when an earlier attempt of this job already ran (retry or restart)."""
        return self.attempt > 1

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Report ``done`` of ``total`` units (candles, trials, epochs...).

        Throttled: the row is written when ``progress_interval`` has passed since the last
        write, or when ``done`` reaches ``total``. The last value is written when the job ends.
        """
        if done < 0 or (total is not None and total < 0):
            raise ValueError("progress counters cannot be negative")
        self._pending = _Pending(done, total, message[:MESSAGE_MAX_LENGTH])
        now = self._clock()
        final = total is not None and done >= total
        if final or now - self._last_write >= self._progress_interval:
            self.flush()

    def flush(self) -> None:
        """Write the latest reported progress (and the heartbeat) now."""
        pending, self._pending = self._pending, None
        self._last_write = self._clock()
        fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
        if pending is not None:
            fields.update(
                done=pending.done,
                total=pending.total,
                message=pending.message,
                progress=fraction(pending.done, pending.total),
            )
        updated = Job.objects.filter(
            pk=self.job_id, status=Job.Status.RUNNING, worker_id=self.worker_id
        ).update(**fields)
        if not updated:
            # Recovery gave this job to someone else (our heartbeat looked dead): our writes
            # no longer count, and the outcome will not be recorded by this attempt either.
            logger.warning("job %s is no longer running on %s", self.job_id, self.worker_id)

    def pending_progress(self) -> dict[str, Any]:
        """The fields of a reported but not yet written progress step (for the final write)."""
        if self._pending is None:
            return {}
        pending = self._pending
        return {
            "done": pending.done,
            "total": pending.total,
            "message": pending.message,
            "progress": fraction(pending.done, pending.total),
        }

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` if a cancel was requested. Cheap in a loop."""
        if self._cancelled:
            raise JobCancelled(str(self.job_id))
        now = self._clock()
        if now - self._last_cancel_check < self._cancel_check_interval:
            return
        self._last_cancel_check = now
        if Job.objects.filter(pk=self.job_id, cancel_requested=True).exists():
            self._cancelled = True
            raise JobCancelled(str(self.job_id))


def fraction(done: int, total: int | None) -> float:
    """``done / total`` clamped to 0..1; 0 when the total is not known."""
    if not total:
        return 0.0
    return max(0.0, min(1.0, done / total))
