"""The scheduler: one acting instance (lease), each due run fired once, an injected clock."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest

from dsta.kernel.jobs.api import JobContext, ScheduleEntry, Scheduler, job_actor, periodic
from dsta.kernel.jobs.lease import Lease
from dsta.kernel.jobs.models import Job, ScheduledRun, SchedulerLease
from dsta.kernel.jobs.scheduler import registered_schedules, unschedule
from dsta.kernel.jobs.tests.conftest import unique

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


class Clock:
    """A clock a test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def plain_actor(broker: dramatiq.Broker) -> dramatiq.Actor:
    @dramatiq.actor(
        actor_name=unique("beat"),
        queue_name=unique("q"),
        broker=broker,
        max_retries=0,
        time_limit=1_000,
    )
    def beat(label: str) -> None:
        return None

    return beat


def queued(broker: dramatiq.Broker, actor: dramatiq.Actor) -> int:
    return broker.queues[actor.queue_name].qsize()


def make_scheduler(entry: ScheduleEntry, holder: str, clock: Callable[[], datetime], lease: str):
    return Scheduler(holder=holder, entries=[entry], clock=clock, lease_name=lease)


def test_two_schedulers_fire_each_due_run_exactly_once(stub_broker):
    actor = plain_actor(stub_broker)
    entry = ScheduleEntry(
        name=unique("sched"), cron="*/5 * * * *", actor=actor, kwargs={"label": "x"}
    )
    lease = unique("lease")
    clocks = {"a": Clock(T0), "b": Clock(T0)}
    schedulers = {h: make_scheduler(entry, h, clocks[h], lease) for h in clocks}
    fired: dict[str, list[datetime]] = {"a": [], "b": []}
    step = timedelta(seconds=20)

    def run_concurrently(holders: list[str], start: datetime, steps: int) -> None:
        barrier = threading.Barrier(len(holders))
        errors: list[BaseException] = []

        def loop(holder: str) -> None:
            try:
                for i in range(steps):
                    clocks[holder].now = start + i * step
                    barrier.wait(timeout=10)  # both tick the same instant
                    fired[holder] += [run.due_at for run in schedulers[holder].tick()]
            except BaseException as exc:
                errors.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=loop, args=(h,)) for h in holders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []

    # Phase 1: both run 12:00:00 .. 12:12:40; one of them leads.
    run_concurrently(["a", "b"], T0, 39)
    leader = SchedulerLease.objects.get(name=lease).holder
    follower = "b" if leader == "a" else "a"
    assert fired[follower] == []
    # Phase 2: the leader stalls (no release); the follower takes over once the lease expires.
    run_concurrently([follower], T0 + 39 * step, 30)
    assert SchedulerLease.objects.get(name=lease).holder == follower
    # Phase 3: the old leader is back; both tick again until 12:40:00.
    run_concurrently(["a", "b"], T0 + 69 * step, 52)

    expected = [T0 + timedelta(minutes=m) for m in range(0, 41, 5)]
    assert sorted(fired["a"] + fired["b"]) == expected
    assert fired[leader]  # the lease changed hands
    assert fired[follower]
    assert queued(stub_broker, actor) == len(expected)
    rows = ScheduledRun.objects.filter(schedule=entry.name)
    assert sorted(rows.values_list("due_at", flat=True)) == expected
    assert not rows.filter(enqueued_at__isnull=True).exists()


def test_new_schedule_skips_a_stale_due_time_and_a_gap_fires_once(stub_broker):
    actor = plain_actor(stub_broker)
    entry = ScheduleEntry(
        name=unique("sched"), cron="*/5 * * * *", actor=actor, kwargs={"label": "x"}
    )
    clock = Clock(T0 + timedelta(minutes=3))
    scheduler = make_scheduler(entry, "solo", clock, unique("lease"))

    assert scheduler.tick() == []  # 12:00 is 3 minutes old: a new schedule does not fire it
    clock.now = T0 + timedelta(minutes=5)
    assert [r.due_at for r in scheduler.tick()] == [T0 + timedelta(minutes=5)]
    assert scheduler.tick() == []  # same due time, same tick: nothing more
    # The scheduler was down from 12:05 to 12:32: only the latest missed run fires.
    clock.now = T0 + timedelta(minutes=32)
    assert [r.due_at for r in scheduler.tick()] == [T0 + timedelta(minutes=30)]
    assert queued(stub_broker, actor) == 2


def test_a_failed_send_is_sent_again_on_the_next_tick(stub_broker):
    actor = plain_actor(stub_broker)
    entry = ScheduleEntry(
        name=unique("sched"), cron="* * * * *", actor=actor, kwargs={"label": "x"}
    )
    clock = Clock(T0)
    scheduler = make_scheduler(entry, "solo", clock, unique("lease"))
    # A queue the broker does not know makes the send raise (the broker refuses it).
    queues = stub_broker.queues
    saved = queues.pop(actor.queue_name)

    assert scheduler.tick() == []
    row = ScheduledRun.objects.get(schedule=entry.name)
    assert row.enqueued_at is None
    assert row.last_error  # a known failure: safe to send again

    queues[actor.queue_name] = saved
    clock.now = T0 + timedelta(seconds=10)
    assert [r.due_at for r in scheduler.tick()] == [T0]
    assert saved.qsize() == 1
    row.refresh_from_db()
    assert row.enqueued_at is not None
    assert row.last_error == ""


def test_a_job_actor_schedule_starts_tracked_jobs(stub_broker):
    @job_actor(kind=unique("report"), max_retries=0, time_limit=5_000, broker=stub_broker)
    def report(ctx: JobContext, *, period: str) -> str:
        return period

    entry = ScheduleEntry(
        name=unique("sched"), cron="0 * * * *", actor=report, kwargs={"period": "1h"}
    )
    scheduler = make_scheduler(entry, "solo", Clock(T0), unique("lease"))
    [run] = scheduler.tick()
    assert run.job_id is not None
    job = Job.objects.get(pk=run.job_id)
    assert (job.kind, job.params, job.status) == (report.actor_name, {"period": "1h"}, "queued")
    assert ScheduledRun.objects.get(schedule=entry.name).job_id == run.job_id


def test_lease_is_exclusive_until_it_expires_or_is_released():
    name = unique("lease")
    a = Lease(name, holder="a", ttl=timedelta(seconds=30))
    b = Lease(name, holder="b", ttl=timedelta(seconds=30))
    assert a.acquire(T0)
    assert not b.acquire(T0 + timedelta(seconds=29))
    assert a.acquire(T0 + timedelta(seconds=29))  # renewal moves the expiry
    assert not b.acquire(T0 + timedelta(seconds=58))
    assert b.acquire(T0 + timedelta(seconds=60))
    assert not a.held(T0 + timedelta(seconds=61))
    b.release(T0 + timedelta(seconds=61))
    assert a.acquire(T0 + timedelta(seconds=61))


def test_registry_and_cron_validation(stub_broker):
    actor = plain_actor(stub_broker)
    name = unique("sched")
    assert periodic("*/15 * * * *", name=name, kwargs={"label": "y"})(actor) is actor
    try:
        entry = next(e for e in registered_schedules() if e.name == name)
        assert (entry.cron, entry.kwargs) == ("*/15 * * * *", {"label": "y"})
        with pytest.raises(ValueError, match="already registered"):
            periodic("*/15 * * * *", name=name)(actor)
    finally:
        unschedule(name)
    assert all(e.name != name for e in registered_schedules())
    with pytest.raises(ValueError, match="invalid cron"):
        ScheduleEntry(name=unique("bad"), cron="every five minutes", actor=actor)
