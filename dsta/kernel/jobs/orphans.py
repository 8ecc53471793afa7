"""Jobs whose worker died: found at startup and failed or resumed, never left running."""

import logging
from datetime import datetime, timedelta
from uuid import UUID

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from dsta.kernel.jobs import conf, registry
from dsta.kernel.jobs.broker import is_inprocess
from dsta.kernel.jobs.dto import RecoveryReport
from dsta.kernel.jobs.models import Job
from dsta.kernel.jobs.services import send_job

logger = logging.getLogger(__name__)

ORPHANED_MESSAGE = "the worker running this job stopped (restart or crash) before it finished"


def recover_orphans(
    *,
    now: datetime | None = None,
    stale_after: timedelta | None = None,
    current_worker_id: str | None = None,
    own_jobs: bool = True,
    requeue_queued: bool | None = None,
) -> RecoveryReport:
    """Deal with running jobs whose worker is gone. Run at startup, before a worker starts,
    and periodically by the scheduler (``own_jobs=False``) for workers that died for good.

    Orphans are running jobs whose heartbeat is older than ``stale_after`` (default
    settings.DSTA_JOBS_ORPHAN_AFTER_SECONDS) and, with ``own_jobs``, those carrying
    ``current_worker_id`` (default: this process's id; at startup nothing of ours can be
    running, so they belong to our previous life). Each becomes cancelled (cancel was
    requested), queued again and re-sent (resumable kind) or failed with code ``orphaned``.
    Each change is a conditional UPDATE on the values read, so a worker that heartbeats
    meanwhile keeps its job.

    With ``requeue_queued`` (default: when the broker is in-process, whose messages died with
    the previous process) every queued job is sent again; the claim makes a duplicate
    harmless.
    """
    registry.autodiscover_tasks()
    now = now or timezone.now()
    stale_before = now - (stale_after if stale_after is not None else conf.orphan_after())
    orphaned = Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True)
    if own_jobs:
        orphaned |= Q(worker_id=current_worker_id or conf.worker_id())
    report = RecoveryReport()
    _recover(Job.objects.filter(orphaned, status=Job.Status.RUNNING), now, report)
    if requeue_queued if requeue_queued is not None else is_inprocess():
        _requeue_queued(now, report)
    _log(report)
    return report


def release_own_jobs(
    *, worker_id: str | None = None, now: datetime | None = None
) -> RecoveryReport:
    """At shutdown, after the worker stopped: jobs this process still runs (they outlived the
    stop timeout and die with the process) are resumed or failed now, rather than once their
    heartbeat has gone stale."""
    registry.autodiscover_tasks()
    report = RecoveryReport()
    me = worker_id or conf.worker_id()
    _recover(
        Job.objects.filter(status=Job.Status.RUNNING, worker_id=me), now or timezone.now(), report
    )
    _log(report)
    return report


def _recover(running: QuerySet[Job], now: datetime, report: RecoveryReport) -> None:
    for job in running.only("id", "kind", "worker_id", "heartbeat_at", "cancel_requested"):
        seen = Job.objects.filter(
            pk=job.pk,
            status=Job.Status.RUNNING,
            worker_id=job.worker_id,
            heartbeat_at=job.heartbeat_at,
        )
        _recover_one(job, seen, now, report)


def _log(report: RecoveryReport) -> None:
    if report.total:
        logger.warning(
            "orphan recovery: %d failed, %d resumed, %d cancelled, %d re-sent",
            len(report.failed),
            len(report.resumed),
            len(report.cancelled),
            len(report.requeued),
        )


def _recover_one(job: Job, seen: QuerySet[Job], now: datetime, report: RecoveryReport) -> None:
    if job.cancel_requested:
        if seen.update(status=Job.Status.CANCELLED, finished_at=now, message="cancelled"):
            report.cancelled.append(job.pk)
        return
    spec = registry.find_kind(job.kind)
    if spec is not None and spec.resumable:
        with transaction.atomic():
            if seen.update(
                status=Job.Status.QUEUED, worker_id="", message="resuming after a worker restart"
            ):
                actor, job_id = spec.actor, job.pk
                transaction.on_commit(lambda: send_job(actor, job_id))
                report.resumed.append(job.pk)
        return
    if spec is None:
        logger.warning("orphaned job %s has unknown kind %r: failing it", job.pk, job.kind)
    if seen.update(
        status=Job.Status.FAILED,
        finished_at=now,
        error={"code": "orphaned", "message": ORPHANED_MESSAGE},
    ):
        report.failed.append(job.pk)


def _requeue_queued(now: datetime, report: RecoveryReport) -> None:
    queued: list[tuple[UUID, str]] = list(
        Job.objects.filter(status=Job.Status.QUEUED)
        .exclude(pk__in=report.resumed)
        .values_list("id", "kind")
    )
    for job_id, kind in queued:
        spec = registry.find_kind(kind)
        if spec is None:
            Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
                status=Job.Status.FAILED,
                finished_at=now,
                error={"code": "unknown_kind", "message": f"no job kind {kind!r} is registered"},
            )
            report.failed.append(job_id)
            continue
        send_job(spec.actor, job_id)
        report.requeued.append(job_id)
