"""Reads of jobs, returned as :class:`JobInfo` DTOs (a model instance never leaves the app)."""

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from dsta.kernel.errors import InvalidInput, NotFound
from dsta.kernel.jobs.dto import JobError, JobInfo, JobStatus
from dsta.kernel.jobs.models import Job

LIST_LIMIT_MAX = 500


def to_info(job: Job) -> JobInfo:
    """Map a row to its DTO."""
    error = job.error if isinstance(job.error, dict) else None
    return JobInfo(
        id=job.id,
        kind=job.kind,
        owner_id=job.owner_id,
        status=JobStatus(job.status),
        progress=job.progress,
        done=job.done,
        total=job.total,
        message=job.message,
        params=dict(job.params or {}),
        result=job.result,
        error=JobError(code=str(error.get("code", "error")), message=str(error.get("message", "")))
        if error
        else None,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        heartbeat_at=job.heartbeat_at,
        cancel_requested=job.cancel_requested,
        worker_id=job.worker_id,
        attempt=job.attempt,
    )


def parse_job_id(job_id: UUID | str) -> UUID:
    """A UUID from a UUID or its text; NotFound for text that is no job id at all."""
    if isinstance(job_id, UUID):
        return job_id
    try:
        return UUID(str(job_id))
    except ValueError:
        raise NotFound(f"no job with id {job_id!r}") from None


def get_job(job_id: UUID | str, *, owner_id: int | None = None) -> JobInfo:
    """One job. With ``owner_id`` another user's job is reported as not found.

    Raises NotFound (also for a malformed id).
    """
    jobs = Job.objects.filter(pk=parse_job_id(job_id))
    if owner_id is not None:
        jobs = jobs.filter(owner_id=owner_id)
    job = jobs.first()
    if job is None:
        raise NotFound(f"no job with id {job_id}")
    return to_info(job)


def list_jobs(
    *,
    owner_id: int | None = None,
    kinds: Iterable[str] | None = None,
    statuses: Iterable[JobStatus | str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[JobInfo]:
    """Jobs, newest first, optionally of one owner / some kinds / some statuses."""
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise InvalidInput(f"limit must be between 1 and {LIST_LIMIT_MAX}")
    if offset < 0:
        raise InvalidInput("offset cannot be negative")
    jobs = Job.objects.all()
    if owner_id is not None:
        jobs = jobs.filter(owner_id=owner_id)
    if kinds is not None:
        jobs = jobs.filter(kind__in=list(kinds))
    if statuses is not None:
        jobs = jobs.filter(status__in=[_status(s).value for s in statuses])
    return [to_info(job) for job in jobs.order_by("-created_at", "id")[offset : offset + limit]]


def _status(value: Any) -> JobStatus:
    try:
        return JobStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in JobStatus)
        raise InvalidInput(f"unknown job status {value!r}; expected one of {allowed}") from None
