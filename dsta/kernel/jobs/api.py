"""The public surface of background work. Import from here, not from the modules behind it.

Declaring work (in a domain's ``tasks.py``)::

    @periodic(cron="*/5 * * * *")
    @job_actor(kind="data.ingest", max_retries=3, time_limit=timedelta(hours=1), resumable=True)
    def ingest(ctx: JobContext, *, venue: str, symbol: str) -> dict:
        for done, chunk in enumerate(chunks, start=1):
            ctx.check_cancelled()
            ...
            ctx.progress(done, len(chunks), f"{symbol} {chunk.start:%Y-%m-%d}")
        return {"candles": n}

Starting and watching it::

    info = start_job("data.ingest", params={"venue": "binance", "symbol": "BTC/USDT"},
                     owner_id=user.id)
    follow_job(info.id, self.stdout)   # in a management command
"""

from dsta.kernel.jobs.actors import JobFunction, job_actor
from dsta.kernel.jobs.background import (
    BackgroundService,
    background_services,
    register_background,
)
from dsta.kernel.jobs.broker import (
    build_broker,
    configure_broker,
    enqueue_on_commit,
    get_broker,
    is_inprocess,
)
from dsta.kernel.jobs.context import JobCancelled, JobContext
from dsta.kernel.jobs.dto import JobError, JobInfo, JobStatus, RecoveryReport
from dsta.kernel.jobs.follow import follow_job, wait_job
from dsta.kernel.jobs.orphans import recover_orphans, release_own_jobs
from dsta.kernel.jobs.registry import autodiscover_tasks, registered_kinds
from dsta.kernel.jobs.scheduler import (
    FiredRun,
    ScheduleEntry,
    Scheduler,
    periodic,
    registered_schedules,
    schedule,
    unschedule,
)
from dsta.kernel.jobs.selectors import get_job, list_jobs
from dsta.kernel.jobs.services import cancel_job, start_job
from dsta.kernel.jobs.worker import RunningWorker, start_worker

__all__ = [
    "BackgroundService",
    "FiredRun",
    "JobCancelled",
    "JobContext",
    "JobError",
    "JobFunction",
    "JobInfo",
    "JobStatus",
    "RecoveryReport",
    "RunningWorker",
    "ScheduleEntry",
    "Scheduler",
    "autodiscover_tasks",
    "background_services",
    "build_broker",
    "cancel_job",
    "configure_broker",
    "enqueue_on_commit",
    "follow_job",
    "get_broker",
    "get_job",
    "is_inprocess",
    "job_actor",
    "list_jobs",
    "periodic",
    "recover_orphans",
    "register_background",
    "registered_kinds",
    "registered_schedules",
    "release_own_jobs",
    "schedule",
    "start_job",
    "start_worker",
    "unschedule",
    "wait_job",
]
