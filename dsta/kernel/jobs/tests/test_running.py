"""Jobs run by a real dramatiq worker on the in-process broker: progress, results, failures,
retries and cancellation."""

import logging
import threading
from typing import Any

import dramatiq
import pytest

from dsta.kernel.errors import Conflict, InvalidInput
from dsta.kernel.jobs import conf
from dsta.kernel.jobs.api import (
    JobContext,
    JobStatus,
    RunningWorker,
    cancel_job,
    get_job,
    job_actor,
    start_job,
)
from dsta.kernel.jobs.models import Job
from dsta.kernel.jobs.tests.conftest import unique

pytestmark = pytest.mark.django_db(transaction=True)

JOIN_MS = 10_000


def drain(broker: dramatiq.Broker, actor: dramatiq.Actor[Any, Any], worker: RunningWorker) -> None:
    broker.join(actor.queue_name, timeout=JOIN_MS)
    worker.join()


def test_job_reports_progress_and_succeeds(stub_broker, worker):
    seen_while_running: list[tuple[str, float, int]] = []

    @job_actor(kind=unique("count"), max_retries=0, time_limit=10_000, broker=stub_broker)
    def count(ctx: JobContext, *, n: int) -> dict[str, int]:
        for i in range(1, n + 1):
            ctx.check_cancelled()
            ctx.progress(i, n, f"step {i}")
            if i == 1:  # the first report is written at once: visible while the job runs
                row = Job.objects.get(pk=ctx.job_id)
                seen_while_running.append((row.status, row.progress, row.done))
        return {"counted": n}

    info = start_job(count, params={"n": 4}, owner_id=7)
    assert info.status is JobStatus.QUEUED
    assert info.owner_id == 7

    drain(stub_broker, count, worker)

    assert seen_while_running == [("running", 0.25, 1)]
    job = get_job(info.id)
    assert job.status is JobStatus.SUCCEEDED
    assert job.result == {"counted": 4}
    assert (job.done, job.total, job.progress, job.message) == (4, 4, 1.0, "step 4")
    assert job.attempt == 1
    assert job.worker_id == conf.worker_id()
    assert job.error is None
    assert job.started_at is not None
    assert job.finished_at is not None
    assert job.created_at <= job.started_at <= job.finished_at


def test_failure_is_stored_and_the_worker_keeps_going(stub_broker, worker, caplog):
    queue = unique("q")

    @job_actor(
        kind=unique("boom"), max_retries=0, time_limit=5_000, broker=stub_broker, queue_name=queue
    )
    def boom(ctx: JobContext) -> None:
        raise ValueError("kaboom")

    @job_actor(
        kind=unique("refused"),
        max_retries=3,
        time_limit=5_000,
        broker=stub_broker,
        queue_name=queue,
    )
    def refused(ctx: JobContext) -> None:
        raise InvalidInput("no such symbol")

    @job_actor(
        kind=unique("fine"), max_retries=0, time_limit=5_000, broker=stub_broker, queue_name=queue
    )
    def fine(ctx: JobContext) -> int:
        return 42

    with caplog.at_level(logging.ERROR, logger="dsta.kernel.jobs.actors"):
        crashed = start_job(boom)
        rejected = start_job(refused)
        after = start_job(fine)
        drain(stub_broker, fine, worker)

    crashed_job = get_job(crashed.id)
    assert crashed_job.status is JobStatus.FAILED
    assert crashed_job.error is not None
    assert (crashed_job.error.code, crashed_job.error.message) == ("internal_error", "kaboom")
    assert any(r.exc_info and "kaboom" in str(r.exc_info[1]) for r in caplog.records)

    rejected_job = get_job(rejected.id)
    assert rejected_job.status is JobStatus.FAILED
    assert rejected_job.error is not None
    assert rejected_job.error.code == "invalid_input"
    assert rejected_job.attempt == 1  # a DstaError is deliberate: never retried

    assert get_job(after.id).status is JobStatus.SUCCEEDED
    assert get_job(after.id).result == 42
    assert stub_broker.dead_letters == []  # failures are recorded, not dead-lettered


def test_unexpected_error_is_retried_then_succeeds(stub_broker, worker):
    attempts: list[int] = []

    @job_actor(
        kind=unique("flaky"),
        max_retries=2,
        time_limit=5_000,
        broker=stub_broker,
        min_backoff=1,
        max_backoff=5,
    )
    def flaky(ctx: JobContext) -> str:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            raise ConnectionError("venue hiccup")
        return "ok"

    info = start_job(flaky)
    drain(stub_broker, flaky, worker)

    job = get_job(info.id)
    assert attempts == [1, 2]
    assert job.status is JobStatus.SUCCEEDED
    assert job.attempt == 2


def test_retry_with_unwritten_progress_still_retries(stub_broker, worker):
    """A retryable failure right after a throttled progress report (not yet written) must
    still requeue the job: the pending progress message and the retry note share a column."""
    attempts: list[int] = []

    @job_actor(
        kind=unique("flaky_progress"),
        max_retries=2,
        time_limit=5_000,
        broker=stub_broker,
        min_backoff=1,
        max_backoff=5,
    )
    def flaky(ctx: JobContext) -> str:
        attempts.append(ctx.attempt)
        ctx.progress(1, 10, "page 1")
        ctx.progress(2, 10, "page 2")  # throttled: still pending when the error comes
        if ctx.attempt == 1:
            raise ConnectionError("venue hiccup")
        return "ok"

    info = start_job(flaky)
    drain(stub_broker, flaky, worker)

    assert attempts == [1, 2]
    assert get_job(info.id).status is JobStatus.SUCCEEDED


def test_retries_exhausted_fails_the_job(stub_broker, worker):
    @job_actor(
        kind=unique("hopeless"),
        max_retries=1,
        time_limit=5_000,
        broker=stub_broker,
        min_backoff=1,
        max_backoff=5,
    )
    def hopeless(ctx: JobContext) -> None:
        raise RuntimeError(f"attempt {ctx.attempt}")

    info = start_job(hopeless)
    drain(stub_broker, hopeless, worker)

    job = get_job(info.id)
    assert job.status is JobStatus.FAILED
    assert job.attempt == 2
    assert job.error is not None
    assert job.error.message == "attempt 2"


def test_cancel_a_running_job(stub_broker, worker):
    started, proceed = threading.Event(), threading.Event()
    after_check: list[str] = []

    @job_actor(kind=unique("slow"), max_retries=0, time_limit=10_000, broker=stub_broker)
    def slow(ctx: JobContext) -> str:
        ctx.progress(1, 3, "first third")
        started.set()
        proceed.wait(10)
        ctx.check_cancelled()
        after_check.append("not cancelled")
        return "finished"

    info = start_job(slow)
    assert started.wait(10)
    assert get_job(info.id).status is JobStatus.RUNNING

    requested = cancel_job(info.id)
    assert requested.status is JobStatus.RUNNING
    assert requested.cancel_requested
    proceed.set()
    drain(stub_broker, slow, worker)

    job = get_job(info.id)
    assert job.status is JobStatus.CANCELLED
    assert after_check == []
    assert job.result is None
    assert job.finished_at is not None
    assert (job.done, job.total) == (1, 3)  # the progress it had reached is kept
    assert cancel_job(info.id).status is JobStatus.CANCELLED  # again: a no-op


def test_cancel_a_queued_job_means_it_never_runs(stub_broker):
    calls: list[int] = []

    @job_actor(kind=unique("never"), max_retries=0, time_limit=5_000, broker=stub_broker)
    def never(ctx: JobContext) -> None:
        calls.append(1)

    info = start_job(never)  # no worker yet: the message waits in the broker
    cancelled = cancel_job(info.id)
    assert cancelled.status is JobStatus.CANCELLED

    from dsta.kernel.jobs.worker import start_worker

    running = start_worker(stub_broker, threads=1, worker_timeout_ms=50)
    try:
        drain(stub_broker, never, running)
    finally:
        running.stop()
    assert calls == []
    assert get_job(info.id).status is JobStatus.CANCELLED


def test_cancel_a_finished_job_is_a_conflict(stub_broker, worker):
    @job_actor(kind=unique("quick"), max_retries=0, time_limit=5_000, broker=stub_broker)
    def quick(ctx: JobContext) -> None:
        return None

    info = start_job(quick)
    drain(stub_broker, quick, worker)
    with pytest.raises(Conflict):
        cancel_job(info.id)


def test_time_limit_fails_the_job(stub_broker, worker):
    @job_actor(kind=unique("sluggish"), max_retries=0, time_limit=200, broker=stub_broker)
    def sluggish(ctx: JobContext) -> None:
        # Short waits: the TimeLimit interrupt lands between bytecodes, not inside one wait.
        idle = threading.Event()
        for _ in range(1000):
            idle.wait(0.01)

    info = start_job(sluggish)
    drain(stub_broker, sluggish, worker)

    job = get_job(info.id)
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert job.error.code == "time_limit_exceeded"


def test_non_json_result_fails_the_job(stub_broker, worker):
    @job_actor(kind=unique("weird"), max_retries=0, time_limit=5_000, broker=stub_broker)
    def weird(ctx: JobContext) -> object:
        return object()

    info = start_job(weird)
    drain(stub_broker, weird, worker)
    job = get_job(info.id)
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert "non-JSON" in job.error.message


def test_a_duplicate_delivery_runs_the_job_once(stub_broker, worker):
    calls: list[int] = []

    @job_actor(kind=unique("once"), max_retries=0, time_limit=5_000, broker=stub_broker)
    def once(ctx: JobContext) -> None:
        calls.append(1)

    info = start_job(once)
    once.send_with_options(
        kwargs={"job_id": str(info.id)}
    )  # the broker delivers the same job twice
    drain(stub_broker, once, worker)
    assert calls == [1]
    assert get_job(info.id).status is JobStatus.SUCCEEDED
