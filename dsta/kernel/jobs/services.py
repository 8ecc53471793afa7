"""Writes: start a job, cancel a job."""

import inspect
import json
import logging
from typing import Any
from uuid import UUID

import dramatiq
from django.db import transaction
from django.utils import timezone

from dsta.kernel.errors import Conflict, InvalidInput, NotFound
from dsta.kernel.jobs import registry
from dsta.kernel.jobs.dto import JobInfo
from dsta.kernel.jobs.models import Job
from dsta.kernel.jobs.selectors import parse_job_id, to_info

logger = logging.getLogger(__name__)


def start_job(
    kind_or_actor: str | dramatiq.Actor[Any, Any],
    *,
    params: dict[str, Any] | None = None,
    owner_id: int | None = None,
) -> JobInfo:
    """Create a queued Job row and enqueue its actor once the transaction commits.

    ``params`` must be JSON and fit the job function's keyword parameters: a mismatch is
    InvalidInput here, not a failed job later. An unknown kind is InvalidInput too.
    """
    spec = registry.resolve(kind_or_actor)
    params = dict(params or {})
    _check_params(spec, params)
    with transaction.atomic():
        job = Job.objects.create(kind=spec.kind, owner_id=owner_id, params=params)
        job_id = job.id
        transaction.on_commit(lambda: send_job(spec.actor, job_id))
    return to_info(job)


def send_job(actor: dramatiq.Actor[Any, Any], job_id: UUID) -> None:
    """Hand a job's message to the broker (called after commit).

    A broker that refuses the message would leave the job queued forever: it is failed
    instead, so the caller sees why.
    """
    try:
        actor.send(job_id=str(job_id))
    except Exception as exc:
        logger.exception("could not enqueue job %s", job_id)
        Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
            status=Job.Status.FAILED,
            finished_at=timezone.now(),
            error={"code": "service_unavailable", "message": f"could not enqueue: {exc}"},
        )


def cancel_job(job_id: UUID | str, *, owner_id: int | None = None) -> JobInfo:
    """Request cancellation. A queued job is cancelled at once; a running one stops at its
    next ``ctx.check_cancelled()``. Cancelling a cancelled job is a no-op.

    Raises NotFound (also for another owner's job when ``owner_id`` is given) and Conflict
    for a job that already succeeded or failed.
    """
    pk = parse_job_id(job_id)
    jobs = Job.objects.filter(pk=pk)
    if owner_id is not None:
        jobs = jobs.filter(owner_id=owner_id)
    now = timezone.now()
    # Two conditional updates rather than read-then-write: a worker may claim the job
    # between them, and then the second one catches it as running.
    if not jobs.filter(status=Job.Status.QUEUED).update(
        status=Job.Status.CANCELLED, cancel_requested=True, finished_at=now, message="cancelled"
    ):
        jobs.filter(status=Job.Status.RUNNING).update(cancel_requested=True)
    job = jobs.first()
    if job is None:
        raise NotFound(f"no job with id {job_id}")
    if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED):
        raise Conflict(f"job {job_id} already {job.status}", details={"status": job.status})
    return to_info(job)


def _check_params(spec: registry.JobKind, params: dict[str, Any]) -> None:
    try:
        json.dumps(params)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"job parameters must be JSON: {exc}") from None
    try:
        inspect.signature(spec.fn).bind(None, **params)
    except TypeError as exc:
        raise InvalidInput(
            f"parameters do not fit job kind {spec.kind!r}: {exc}", details={"kind": spec.kind}
        ) from None
