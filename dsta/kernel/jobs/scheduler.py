"""Periodic work: a registry of cron schedules and the loop that fires them exactly once.

However many scheduler loops run (``run_scheduler`` processes, the thread in ``serve``), only
the holder of the database lease fires anything, and each (schedule, due time) pair is a
unique row inserted before the send, so a due run is never sent twice, not even when the
lease changes hands between two ticks. A missed stretch (scheduler down) is coalesced: only
the latest missed due time fires. A schedule seen for the first time does not fire a due
time older than ``misfire_grace``.
"""

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import dramatiq
from croniter import croniter
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from dsta.kernel.jobs import conf, registry
from dsta.kernel.jobs.lease import Lease
from dsta.kernel.jobs.models import ScheduledRun
from dsta.kernel.jobs.orphans import recover_orphans
from dsta.kernel.jobs.services import start_job

logger = logging.getLogger(__name__)

ActorT = TypeVar("ActorT", bound=dramatiq.Actor[Any, Any])

LEASE_NAME = "scheduler"
RETENTION = timedelta(days=7)
PRUNE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class ScheduleEntry:
    """Send ``actor`` ``kwargs`` at every time matching ``cron`` (UTC).

    When the actor is a job actor the run is started as a tracked job (``kwargs`` are its
    params), so it shows up with progress like any other job.
    """

    name: str
    cron: str
    actor: dramatiq.Actor[Any, Any]
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.cron):
            raise ValueError(f"schedule {self.name!r}: invalid cron expression {self.cron!r}")

    def latest_due(self, now: datetime) -> datetime:
        """The latest due time at or before ``now``."""
        due: datetime = croniter(self.cron, now + timedelta(microseconds=1)).get_prev(datetime)
        return due


_schedules: dict[str, ScheduleEntry] = {}
_lock = threading.Lock()


def schedule(
    name: str, cron: str, actor: dramatiq.Actor[Any, Any], kwargs: dict[str, Any] | None = None
) -> ScheduleEntry:
    """Register a periodic run (usually at import of a ``tasks.py``). Names are unique."""
    entry = ScheduleEntry(name=name, cron=cron, actor=actor, kwargs=dict(kwargs or {}))
    with _lock:
        if name in _schedules:
            raise ValueError(f"schedule {name!r} is already registered")
        _schedules[name] = entry
    return entry


def unschedule(name: str) -> None:
    """Forget a registered schedule (no-op if unknown). Its fired-run rows stay."""
    with _lock:
        _schedules.pop(name, None)


def periodic(
    cron: str, *, name: str | None = None, kwargs: dict[str, Any] | None = None
) -> Callable[[ActorT], ActorT]:
    """Decorator form of :func:`schedule`, applied on top of ``@dramatiq.actor`` or
    ``@job_actor``; the schedule is named after the actor unless ``name`` is given."""

    def register(actor: ActorT) -> ActorT:
        schedule(name or actor.actor_name, cron, actor, kwargs)
        return actor

    return register


def registered_schedules() -> list[ScheduleEntry]:
    """The schedules known to this process (after ``tasks`` autodiscovery), by name."""
    return [_schedules[name] for name in sorted(_schedules)]


@dataclass(frozen=True)
class FiredRun:
    """One due run this scheduler sent."""

    schedule: str
    due_at: datetime
    job_id: uuid.UUID | None


class Scheduler:
    """One scheduler instance. Call :meth:`tick` periodically, or :meth:`run_forever`.

    ``clock`` returns the current aware datetime; tests inject one instead of sleeping.
    ``entries`` defaults to the registry (read at each tick). The lease holder also sweeps
    orphaned jobs every ``orphan_sweep_every`` (None: never).
    """

    def __init__(
        self,
        *,
        holder: str | None = None,
        entries: Iterable[ScheduleEntry] | None = None,
        clock: Callable[[], datetime] = timezone.now,
        lease_name: str = LEASE_NAME,
        lease_ttl: timedelta = timedelta(seconds=30),
        misfire_grace: timedelta = timedelta(seconds=60),
        orphan_sweep_every: timedelta | None = timedelta(seconds=60),
    ) -> None:
        self.holder = holder or f"{conf.worker_id()}:{uuid.uuid4().hex[:8]}"
        self._entries = list(entries) if entries is not None else None
        self.clock = clock
        self.lease = Lease(lease_name, holder=self.holder, ttl=lease_ttl)
        self.misfire_grace = misfire_grace
        self._next_prune: datetime | None = None
        self.orphan_sweep_every = orphan_sweep_every
        self._next_sweep: datetime | None = None

    @property
    def entries(self) -> list[ScheduleEntry]:
        return self._entries if self._entries is not None else registered_schedules()

    def tick(self) -> list[FiredRun]:
        """Fire what is due now, if this instance holds (or can take) the lease."""
        now = self.clock()
        if not self.lease.acquire(now):
            return []
        entries = self.entries
        fired = [run for entry in entries if (run := self._fire_due(entry, now)) is not None]
        self._prune(entries, now)
        self._sweep_orphans(now)
        return fired

    def run_forever(self, stop: threading.Event, *, interval: float = 1.0) -> None:
        """Tick every ``interval`` seconds until ``stop`` is set; then give the lease up."""
        logger.info("scheduler %s started with %d schedules", self.holder, len(self.entries))
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:  # one bad tick (database restart) must not end the loop
                    logger.exception("scheduler tick failed")
                stop.wait(interval)
        finally:
            try:
                self.lease.release(self.clock())
            finally:
                connections.close_all()
            logger.info("scheduler %s stopped", self.holder)

    def _fire_due(self, entry: ScheduleEntry, now: datetime) -> FiredRun | None:
        due = entry.latest_due(now)
        latest = ScheduledRun.objects.filter(schedule=entry.name).order_by("-due_at").first()
        if latest is not None and latest.due_at >= due:
            if latest.enqueued_at is None and latest.last_error:
                # Its send raised, so it certainly did not reach the broker: try again. (A row
                # with neither was interrupted mid-send and may have gone: never resent.)
                return self._send(entry, latest, now)
            return None
        if latest is None and now - due > self.misfire_grace:
            return None  # a new schedule does not fire a stale due time
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(
                    schedule=entry.name, due_at=due, holder=self.holder, created_at=now
                )
        except IntegrityError:  # fired already, by an earlier leader
            return None
        return self._send(entry, run, now)

    def _send(self, entry: ScheduleEntry, run: ScheduledRun, now: datetime) -> FiredRun | None:
        job_id: uuid.UUID | None = None
        try:
            if registry.find_kind(entry.actor.actor_name) is not None:
                job_id = start_job(entry.actor, params=entry.kwargs).id
            else:
                entry.actor.send(**entry.kwargs)
        except Exception as exc:
            logger.exception("schedule %s: sending the %s run failed", entry.name, run.due_at)
            ScheduledRun.objects.filter(pk=run.pk).update(last_error=str(exc)[:500] or "error")
            return None
        ScheduledRun.objects.filter(pk=run.pk).update(enqueued_at=now, job_id=job_id, last_error="")
        logger.info("schedule %s: fired the run due %s", entry.name, run.due_at.isoformat())
        return FiredRun(schedule=entry.name, due_at=run.due_at, job_id=job_id)

    def _sweep_orphans(self, now: datetime) -> None:
        # Startup recovery only sees the jobs of workers that restart; a worker that died
        # for good is caught here, by the one scheduler that holds the lease.
        if self.orphan_sweep_every is None:
            return
        if self._next_sweep is not None and now < self._next_sweep:
            return
        self._next_sweep = now + self.orphan_sweep_every
        recover_orphans(now=now, own_jobs=False, requeue_queued=False)

    def _prune(self, entries: list[ScheduleEntry], now: datetime) -> None:
        if self._next_prune is not None and now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY
        cutoff = now - RETENTION
        names = [entry.name for entry in entries]
        for name in names:
            # Keep each schedule's latest row: it is what says "this due time already fired".
            latest = (
                ScheduledRun.objects.filter(schedule=name)
                .order_by("-due_at")
                .values_list("due_at", flat=True)
                .first()
            )
            if latest is not None:
                ScheduledRun.objects.filter(schedule=name, due_at__lt=min(cutoff, latest)).delete()
        ScheduledRun.objects.exclude(schedule__in=names).filter(due_at__lt=cutoff).delete()
