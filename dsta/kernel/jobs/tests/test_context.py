"""JobContext: throttled progress writes, the final write, cheap cancel checks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dsta.kernel.jobs.context import JobCancelled, JobContext, fraction
from dsta.kernel.jobs.models import Job

pytestmark = pytest.mark.django_db


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def context_for(job: Job, clock: Ticks) -> JobContext:
    return JobContext(
        job_id=job.pk,
        kind=job.kind,
        params={},
        owner_id=None,
        attempt=1,
        last_done=0,
        worker_id=job.worker_id,
        clock=clock,
    )


@pytest.fixture
def running() -> Job:
    long_ago = timezone.now() - timedelta(hours=1)
    return Job.objects.create(
        kind="test.ctx", status=Job.Status.RUNNING, worker_id="w:1", heartbeat_at=long_ago
    )


def stored(job: Job) -> tuple[int, int | None, float, str]:
    job.refresh_from_db()
    return job.done, job.total, job.progress, job.message


def test_progress_is_throttled_but_the_final_step_is_always_written(running):
    clock = Ticks()
    ctx = context_for(running, clock)

    ctx.progress(1, 10, "one")
    assert stored(running) == (1, 10, 0.1, "one")  # the first report goes out at once
    assert running.heartbeat_at > timezone.now() - timedelta(minutes=1)

    for done in range(2, 8):
        ctx.progress(done, 10, f"step {done}")
    assert stored(running) == (1, 10, 0.1, "one")  # within 0.5 s: nothing written

    clock.now += 0.5
    ctx.progress(8, 10, "eight")
    assert stored(running) == (8, 10, 0.8, "eight")

    ctx.progress(10, 10, "done")  # same instant, but the final step
    assert stored(running) == (10, 10, 1.0, "done")


def test_pending_progress_is_what_the_final_update_writes(running):
    clock = Ticks()
    ctx = context_for(running, clock)
    ctx.progress(1, 4)
    ctx.progress(3, 4, "three")
    assert ctx.pending_progress() == {"done": 3, "total": 4, "message": "three", "progress": 0.75}
    ctx.flush()
    assert stored(running) == (3, 4, 0.75, "three")
    assert ctx.pending_progress() == {}


def test_check_cancelled_reads_the_flag_at_most_every_interval(running, django_assert_num_queries):
    clock = Ticks()
    ctx = context_for(running, clock)
    with django_assert_num_queries(1):
        for _ in range(100):
            ctx.check_cancelled()

    Job.objects.filter(pk=running.pk).update(cancel_requested=True)
    ctx.check_cancelled()  # still inside the interval: not seen yet
    clock.now += 0.5
    with pytest.raises(JobCancelled):
        ctx.check_cancelled()
    with django_assert_num_queries(0), pytest.raises(JobCancelled):
        ctx.check_cancelled()  # remembered


def test_progress_rejects_negative_counters(running):
    ctx = context_for(running, Ticks())
    with pytest.raises(ValueError, match="negative"):
        ctx.progress(-1, 10)


def test_writes_stop_counting_once_the_job_was_taken_over(running, caplog):
    ctx = context_for(running, Ticks())
    Job.objects.filter(pk=running.pk).update(worker_id="someone-else:2")
    ctx.progress(5, 10)
    assert stored(running)[0] == 0
    assert "no longer running" in caplog.text


@pytest.mark.parametrize(
    ("done", "total", "expected"),
    [(0, None, 0.0), (5, 0, 0.0), (5, 10, 0.5), (12, 10, 1.0), (10, 10, 1.0)],
)
def test_fraction(done, total, expected):
    assert fraction(done, total) == expected
