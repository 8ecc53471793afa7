"""``@job_actor``: a function ``fn(ctx, **params)`` becomes a dramatiq actor with a Job row.

The actor's only message argument is the job id; the parameters live in the row. Running a
message claims the row (queued -> running, by a conditional UPDATE so a duplicate delivery
is a no-op), calls the function and records the outcome:

* return value -> succeeded, ``result`` stored (must be JSON);
* :class:`JobCancelled` -> cancelled;
* :class:`DstaError` -> failed with its code and message, never retried (it is deliberate);
* any other exception (or the time limit) -> retried while dramatiq retries remain (the row
  goes back to queued), then failed with ``internal_error`` and the traceback logged. The
  exception is not re-raised on the last attempt, so the message is acknowledged and the
  worker simply takes the next one.
"""

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Concatenate
from uuid import UUID

import dramatiq
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from dramatiq.middleware import CurrentMessage, TimeLimitExceeded

from dsta.kernel.bus import publish
from dsta.kernel.errors import DstaError
from dsta.kernel.jobs import conf, registry
from dsta.kernel.jobs.broker import get_broker
from dsta.kernel.jobs.context import JobCancelled, JobContext
from dsta.kernel.jobs.events import JobFinished
from dsta.kernel.jobs.models import Job

logger = logging.getLogger(__name__)

JobFunction = Callable[Concatenate[JobContext, ...], Any]


def job_actor(
    *,
    kind: str,
    max_retries: int,
    time_limit: int | timedelta,
    resumable: bool = False,
    queue_name: str = "default",
    priority: int = 0,
    broker: dramatiq.Broker | None = None,
    **options: Any,
) -> Callable[[JobFunction], dramatiq.Actor[[str], None]]:
    """Declare a job kind run by ``fn(ctx: JobContext, **params)``.

    ``time_limit`` is a timedelta or milliseconds (dramatiq's unit). ``resumable`` kinds are
    re-enqueued when their worker died mid-run (the function must continue from what it
    stored); other kinds are then marked failed with code ``orphaned``. Extra ``options`` go
    to dramatiq (``min_backoff``, ``max_age``...). Returns the dramatiq actor, named ``kind``.
    """
    limit_ms = (
        int(time_limit.total_seconds() * 1000) if isinstance(time_limit, timedelta) else time_limit
    )

    def decorate(fn: JobFunction) -> dramatiq.Actor[[str], None]:
        def run(job_id: str) -> None:
            execute(kind, job_id)

        run.__name__ = getattr(fn, "__name__", "job")
        run.__module__ = fn.__module__
        run.__doc__ = fn.__doc__
        actor: dramatiq.Actor[[str], None] = dramatiq.actor(
            actor_name=kind,
            queue_name=queue_name,
            priority=priority,
            broker=broker or get_broker(),
            max_retries=max_retries,
            time_limit=limit_ms,
            **options,
        )(run)
        registry.register(registry.JobKind(kind=kind, actor=actor, fn=fn, resumable=resumable))
        return actor

    return decorate


def execute(kind: str, job_id: str, *, worker_id: str | None = None) -> None:
    """Run one delivery of a job message (the body of every job actor)."""
    spec = registry.find_kind(kind)
    if spec is None:  # pragma: no cover  (the actor registers its kind before it can run)
        raise RuntimeError(f"job kind {kind!r} is not registered")
    me = worker_id or conf.worker_id()
    job = _claim(UUID(job_id), me)
    if job is None:
        return
    ctx = JobContext(
        job_id=job.id,
        kind=job.kind,
        params=dict(job.params or {}),
        owner_id=job.owner_id,
        attempt=job.attempt,
        last_done=job.done,
        worker_id=me,
    )
    logger.info("job %s (%s) started, attempt %d", job.id, kind, job.attempt)
    try:
        result = spec.fn(ctx, **ctx.params)
    except JobCancelled:
        _finish(ctx, Job.Status.CANCELLED, message="cancelled")
        logger.info("job %s (%s) cancelled", job.id, kind)
    except DstaError as exc:
        _finish(ctx, Job.Status.FAILED, error={"code": exc.code, "message": exc.message})
        logger.info("job %s (%s) failed: %s", job.id, kind, exc.code)
    except (Exception, TimeLimitExceeded) as exc:
        _fail_or_retry(ctx, spec.actor, exc)
    else:
        _succeed(ctx, result)


def _claim(job_id: UUID, worker_id: str) -> Job | None:
    """Take the job for this worker; None when it is not ours to run.

    Claimable: queued, or running with a heartbeat so old that its worker is gone (a broker
    redelivering after a crash). A finished or cancelled job, or one another live worker
    runs, is skipped: that is what makes a duplicate delivery harmless.
    """
    now = timezone.now()
    stale_before = now - conf.orphan_after()
    claimable = Q(status=Job.Status.QUEUED) | Q(
        status=Job.Status.RUNNING, heartbeat_at__lt=stale_before
    )
    claimed = (
        Job.objects.filter(claimable, pk=job_id, cancel_requested=False).update(
            status=Job.Status.RUNNING,
            started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())),
            heartbeat_at=now,
            worker_id=worker_id,
            attempt=F("attempt") + 1,
        )
        == 1
    )
    if not claimed:
        logger.info("job %s is not claimable (finished, cancelled, running or gone)", job_id)
        return None
    return Job.objects.get(pk=job_id)


def _finish(ctx: JobContext, status: str, **fields: Any) -> None:
    now = timezone.now()
    values = {**ctx.pending_progress(), **fields}
    with transaction.atomic():
        updated = Job.objects.filter(
            pk=ctx.job_id, status=Job.Status.RUNNING, worker_id=ctx.worker_id
        ).update(status=status, finished_at=now, heartbeat_at=now, **values)
        if updated:
            error = fields.get("error") or {}
            publish(
                JobFinished(
                    job_id=ctx.job_id,
                    kind=ctx.kind,
                    owner_id=ctx.owner_id,
                    status=str(status),
                    error_code=error.get("code"),
                    error_message=error.get("message"),
                )
            )
    if not updated:
        logger.warning("job %s outcome %s not recorded: it was taken over", ctx.job_id, status)


def _succeed(ctx: JobContext, result: Any) -> None:
    try:
        stored = json.loads(json.dumps(result, cls=DjangoJSONEncoder))
    except (TypeError, ValueError):
        logger.error("job %s returned a value that is not JSON: %r", ctx.job_id, type(result))
        _finish(
            ctx,
            Job.Status.FAILED,
            error={"code": "internal_error", "message": "the job returned a non-JSON result"},
        )
        return
    _finish(ctx, Job.Status.SUCCEEDED, result=stored, progress=1.0)
    logger.info("job %s (%s) succeeded", ctx.job_id, ctx.kind)


def _fail_or_retry(ctx: JobContext, actor: dramatiq.Actor[Any, Any], exc: BaseException) -> None:
    code = "time_limit_exceeded" if isinstance(exc, TimeLimitExceeded) else "internal_error"
    text = str(exc) or type(exc).__name__
    message = CurrentMessage.get_current_message()
    retries = int(message.options.get("retries", 0)) if message is not None else 0
    max_retries = int(actor.options.get("max_retries", 0))
    if message is not None and retries < max_retries:
        # dramatiq's Retries middleware sends it again after a backoff: back to queued.
        Job.objects.filter(
            pk=ctx.job_id, status=Job.Status.RUNNING, worker_id=ctx.worker_id
        ).update(
            status=Job.Status.QUEUED,
            worker_id="",
            error={"code": code, "message": text},
            # The retry note wins over a pending progress message (both name "message").
            **{**ctx.pending_progress(), "message": f"attempt {ctx.attempt} failed; retrying"},
        )
        logger.warning("job %s (%s) attempt %d failed; retrying", ctx.job_id, ctx.kind, ctx.attempt)
        raise exc
    logger.error("job %s (%s) failed", ctx.job_id, ctx.kind, exc_info=exc)
    _finish(ctx, Job.Status.FAILED, error={"code": code, "message": text})
