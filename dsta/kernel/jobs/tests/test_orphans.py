"""Orphan recovery: running jobs whose worker is gone are failed, cancelled or resumed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dsta.kernel.jobs import conf
from dsta.kernel.jobs.api import (
    JobContext,
    JobStatus,
    Scheduler,
    get_job,
    job_actor,
    recover_orphans,
    release_own_jobs,
)
from dsta.kernel.jobs.models import Job
from dsta.kernel.jobs.tests.conftest import unique

pytestmark = pytest.mark.django_db(transaction=True)

ME = "restarted-host:1"


def running_job(kind: str, *, heartbeat_age: timedelta | None, worker_id: str, **fields) -> Job:
    now = timezone.now()
    return Job.objects.create(
        kind=kind,
        status=Job.Status.RUNNING,
        started_at=now - timedelta(hours=1),
        heartbeat_at=None if heartbeat_age is None else now - heartbeat_age,
        worker_id=worker_id,
        attempt=1,
        **fields,
    )


def test_stale_or_own_running_jobs_fail_as_orphaned(stub_broker):
    @job_actor(kind=unique("plain"), max_retries=0, time_limit=5_000, broker=stub_broker)
    def plain(ctx: JobContext) -> None:
        return None

    kind = plain.actor_name
    stale = running_job(kind, heartbeat_age=timedelta(minutes=10), worker_id="gone-host:7")
    never_beat = running_job(kind, heartbeat_age=None, worker_id="gone-host:8")
    own = running_job(kind, heartbeat_age=timedelta(seconds=1), worker_id=ME)
    alive = running_job(kind, heartbeat_age=timedelta(seconds=1), worker_id="busy-host:9")
    unknown = running_job("no.such.kind", heartbeat_age=timedelta(hours=2), worker_id="x:1")

    report = recover_orphans(
        stale_after=timedelta(minutes=1), current_worker_id=ME, requeue_queued=False
    )

    assert set(report.failed) == {stale.pk, never_beat.pk, own.pk, unknown.pk}
    assert report.resumed == []
    assert report.cancelled == []
    for job_id in report.failed:
        job = get_job(job_id)
        assert job.status is JobStatus.FAILED
        assert job.error is not None
        assert job.error.code == "orphaned"
        assert job.finished_at is not None
    assert get_job(alive.pk).status is JobStatus.RUNNING
    assert Job.objects.filter(status=Job.Status.RUNNING).count() == 1


def test_orphan_with_cancel_requested_is_cancelled(stub_broker):
    @job_actor(kind=unique("stopping"), max_retries=0, time_limit=5_000, broker=stub_broker)
    def stopping(ctx: JobContext) -> None:
        return None

    job = running_job(
        stopping.actor_name,
        heartbeat_age=timedelta(minutes=5),
        worker_id="gone:1",
        cancel_requested=True,
    )
    report = recover_orphans(
        stale_after=timedelta(minutes=1), current_worker_id=ME, requeue_queued=False
    )
    assert report.cancelled == [job.pk]
    assert get_job(job.pk).status is JobStatus.CANCELLED


def test_resumable_orphan_is_requeued_and_completes_from_where_it_was(stub_broker, worker):
    runs: list[tuple[int, int]] = []

    @job_actor(
        kind=unique("ingest"), max_retries=0, time_limit=5_000, resumable=True, broker=stub_broker
    )
    def ingest(ctx: JobContext, *, candles: int) -> dict[str, int]:
        runs.append((ctx.attempt, ctx.last_done))
        for done in range(ctx.last_done + 1, candles + 1):
            ctx.progress(done, candles)
        return {"resumed_from": ctx.last_done}

    job = running_job(
        ingest.actor_name,
        heartbeat_age=timedelta(minutes=10),
        worker_id="crashed-host:3",
        params={"candles": 5},
        done=3,
        total=5,
        progress=0.6,
    )

    report = recover_orphans(
        stale_after=timedelta(minutes=1), current_worker_id=ME, requeue_queued=False
    )
    assert report.resumed == [job.pk]

    stub_broker.join(ingest.queue_name, timeout=10_000)
    worker.join()

    finished = get_job(job.pk)
    assert finished.status is JobStatus.SUCCEEDED
    assert runs == [(2, 3)]
    assert finished.result == {"resumed_from": 3}
    assert (finished.done, finished.attempt) == (5, 2)


def test_a_worker_still_heartbeating_keeps_its_job(stub_broker):
    @job_actor(kind=unique("busy"), max_retries=0, time_limit=5_000, broker=stub_broker)
    def busy(ctx: JobContext) -> None:
        return None

    job = running_job(busy.actor_name, heartbeat_age=timedelta(seconds=5), worker_id="live:1")
    report = recover_orphans(
        stale_after=timedelta(minutes=1), current_worker_id=ME, requeue_queued=False
    )
    assert report.total == 0
    assert get_job(job.pk).status is JobStatus.RUNNING


def test_queued_jobs_are_sent_again_after_an_inprocess_restart(stub_broker, worker):
    # The in-process broker's messages die with the process; the rows say what was queued.
    @job_actor(kind=unique("waiting"), max_retries=0, time_limit=5_000, broker=stub_broker)
    def waiting(ctx: JobContext, *, x: int) -> int:
        return x * 2

    queued = Job.objects.create(kind=waiting.actor_name, params={"x": 21})
    lost = Job.objects.create(kind="vanished.kind")

    report = recover_orphans(current_worker_id=ME, requeue_queued=True)
    assert report.requeued == [queued.pk]
    assert report.failed == [lost.pk]

    stub_broker.join(waiting.queue_name, timeout=10_000)
    worker.join()
    assert get_job(queued.pk).result == 42
    lost_job = get_job(lost.pk)
    assert lost_job.status is JobStatus.FAILED
    assert lost_job.error is not None
    assert lost_job.error.code == "unknown_kind"


def test_the_scheduler_sweeps_orphans_of_workers_that_never_came_back(stub_broker):
    @job_actor(kind=unique("lost"), max_retries=0, time_limit=5_000, broker=stub_broker)
    def lost(ctx: JobContext) -> None:
        return None

    dead = running_job(lost.actor_name, heartbeat_age=timedelta(minutes=5), worker_id="dead:1")
    # A job of this very process with a fresh heartbeat is running here: not an orphan.
    mine = running_job(
        lost.actor_name, heartbeat_age=timedelta(seconds=1), worker_id=conf.worker_id()
    )
    scheduler = Scheduler(holder="sweeper", entries=[], lease_name=unique("lease"))

    scheduler.tick()

    assert get_job(dead.pk).status is JobStatus.FAILED
    assert get_job(mine.pk).status is JobStatus.RUNNING


def test_release_own_jobs_at_shutdown(stub_broker):
    @job_actor(kind=unique("long"), max_retries=0, time_limit=5_000, broker=stub_broker)
    def long(ctx: JobContext) -> None:
        return None

    @job_actor(
        kind=unique("resume"), max_retries=0, time_limit=5_000, resumable=True, broker=stub_broker
    )
    def resume(ctx: JobContext) -> None:
        return None

    fresh = timedelta(seconds=1)
    stuck = running_job(long.actor_name, heartbeat_age=fresh, worker_id="me:1")
    again = running_job(resume.actor_name, heartbeat_age=fresh, worker_id="me:1")
    other = running_job(long.actor_name, heartbeat_age=fresh, worker_id="other:2")

    report = release_own_jobs(worker_id="me:1")

    assert report.failed == [stuck.pk]
    assert report.resumed == [again.pk]
    assert get_job(again.pk).status is JobStatus.QUEUED
    assert stub_broker.queues[resume.queue_name].qsize() == 1
    assert get_job(other.pk).status is JobStatus.RUNNING
