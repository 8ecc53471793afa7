"""Starting jobs and enqueueing: after commit only, parameters checked up front."""

import io

import dramatiq
import pytest
from django.db import transaction

from dsta.kernel.errors import InvalidInput, NotFound
from dsta.kernel.jobs.api import (
    JobContext,
    JobStatus,
    enqueue_on_commit,
    follow_job,
    get_job,
    job_actor,
    list_jobs,
    start_job,
    wait_job,
)
from dsta.kernel.jobs.models import Job
from dsta.kernel.jobs.tests.conftest import unique

pytestmark = pytest.mark.django_db(transaction=True)


def queue_size(broker: dramatiq.Broker, actor: dramatiq.Actor) -> int:
    return broker.queues[actor.queue_name].qsize()


def test_enqueue_on_commit_sends_only_after_commit(stub_broker):
    @dramatiq.actor(
        actor_name=unique("notify"),
        queue_name=unique("q"),
        broker=stub_broker,
        max_retries=0,
        time_limit=1_000,
    )
    def notify(user_id: int) -> None:
        return None

    with transaction.atomic():
        enqueue_on_commit(notify, user_id=1)
        assert queue_size(stub_broker, notify) == 0
    assert queue_size(stub_broker, notify) == 1

    with transaction.atomic():
        enqueue_on_commit(notify, user_id=2)
        transaction.set_rollback(True)
    assert queue_size(stub_broker, notify) == 1

    enqueue_on_commit(notify, user_id=3)  # no transaction: sent at once
    assert queue_size(stub_broker, notify) == 2


def test_start_job_in_a_rolled_back_transaction_leaves_nothing(stub_broker):
    @job_actor(kind=unique("k"), max_retries=0, time_limit=1_000, broker=stub_broker)
    def work(ctx: JobContext) -> None:
        return None

    with transaction.atomic():
        start_job(work)
        assert queue_size(stub_broker, work) == 0
        transaction.set_rollback(True)
    assert queue_size(stub_broker, work) == 0
    assert not Job.objects.filter(kind=work.actor_name).exists()


def test_start_job_checks_kind_and_parameters(stub_broker):
    @job_actor(kind=unique("k"), max_retries=0, time_limit=1_000, broker=stub_broker)
    def ingest(ctx: JobContext, *, symbol: str, days: int = 1) -> None:
        return None

    with pytest.raises(InvalidInput, match="unknown job kind"):
        start_job("no.such.kind")
    with pytest.raises(InvalidInput, match="do not fit"):
        start_job(ingest, params={"symbol": "BTC/USDT", "bogus": 1})
    with pytest.raises(InvalidInput, match="do not fit"):
        start_job(ingest, params={})
    with pytest.raises(InvalidInput, match="JSON"):
        start_job(ingest, params={"symbol": {1, 2}})
    assert not Job.objects.exists()

    info = start_job(ingest.actor_name, params={"symbol": "BTC/USDT"}, owner_id=3)
    assert (info.kind, info.params, info.status) == (
        ingest.actor_name,
        {"symbol": "BTC/USDT"},
        JobStatus.QUEUED,
    )
    assert queue_size(stub_broker, ingest) == 1


def test_a_kind_is_declared_once(stub_broker):
    kind = unique("k")

    @job_actor(kind=kind, max_retries=0, time_limit=1_000, broker=stub_broker)
    def first(ctx: JobContext) -> None:
        return None

    with pytest.raises(ValueError, match="already"):

        @job_actor(kind=kind, max_retries=0, time_limit=1_000, broker=stub_broker)
        def second(ctx: JobContext) -> None:
            return None


def test_get_and_list_jobs():
    a = Job.objects.create(kind="a.one", owner_id=1)
    b = Job.objects.create(kind="b.two", owner_id=2, status=Job.Status.FAILED)
    assert get_job(str(a.pk)).id == a.pk
    with pytest.raises(NotFound):
        get_job(a.pk, owner_id=2)
    with pytest.raises(NotFound):
        get_job("garbage")
    assert [j.id for j in list_jobs(owner_id=2)] == [b.pk]
    assert [j.id for j in list_jobs(statuses=["failed"])] == [b.pk]
    assert [j.id for j in list_jobs(kinds=["a.one"])] == [a.pk]
    assert len(list_jobs(limit=1)) == 1
    with pytest.raises(InvalidInput):
        list_jobs(statuses=["nope"])
    with pytest.raises(InvalidInput):
        list_jobs(limit=0)


def test_follow_job_draws_a_bar_until_the_job_finishes(stub_broker, worker):
    @job_actor(kind=unique("steps"), max_retries=0, time_limit=5_000, broker=stub_broker)
    def steps(ctx: JobContext, *, n: int) -> int:
        for i in range(1, n + 1):
            ctx.progress(i, n, f"step {i}")
        return n

    info = start_job(steps, params={"n": 5})
    out = io.StringIO()
    final = follow_job(info.id, out, timeout=10, poll_interval=0.01)
    assert final.status is JobStatus.SUCCEEDED
    text = out.getvalue()
    assert "5/5" in text
    assert "succeeded" in text


def test_wait_job_times_out_with_an_injected_clock():
    job = Job.objects.create(kind="a.one")
    ticks = iter([0.0, 0.0, 2.0])
    with pytest.raises(TimeoutError):
        wait_job(job.pk, timeout=1.0, sleep=lambda _: None, clock=lambda: next(ticks))
