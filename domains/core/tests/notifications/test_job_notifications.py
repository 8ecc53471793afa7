"""A finished job tells its owner: the jobs kernel publishes JobFinished, core notifies."""

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import dramatiq
import pytest

from domains.core.models import Notification
from dsta.kernel.errors import InvalidInput
from dsta.kernel.jobs.api import JobContext, job_actor, start_job, start_worker
from dsta.kernel.jobs.broker import build_broker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker() -> Iterator[dramatiq.Broker]:
    stub = build_broker("inprocess")
    yield stub
    stub.close()


def run(broker: dramatiq.Broker, actor: dramatiq.Actor[Any, Any], **start: Any) -> None:
    worker = start_worker(broker, threads=1, worker_timeout_ms=50)
    try:
        start_job(actor, **start)
        broker.join(actor.queue_name, timeout=10_000)
        worker.join()
    finally:
        worker.stop(timeout=timedelta(seconds=10))


def test_a_failed_job_notifies_its_owner_with_the_reason(
    broker: dramatiq.Broker, make_user: Callable[..., Any]
) -> None:
    user = make_user()

    @job_actor(
        kind=f"test.doomed_{uuid.uuid4().hex[:8]}", max_retries=0, time_limit=5_000, broker=broker
    )
    def doomed(ctx: JobContext) -> None:
        raise InvalidInput("no candles between 2020-01-01 and 2020-01-02")

    run(broker, doomed, owner_id=user.pk)

    [notification] = Notification.objects.filter(owner=user)
    assert notification.priority == "high"
    assert "failed" in notification.subject
    assert "no candles between 2020-01-01 and 2020-01-02" in notification.body
    assert notification.data["status"] == "failed"


def test_system_jobs_notify_nobody(broker: dramatiq.Broker) -> None:
    @job_actor(
        kind=f"test.system_{uuid.uuid4().hex[:8]}", max_retries=0, time_limit=5_000, broker=broker
    )
    def system(ctx: JobContext) -> str:
        return "done"

    run(broker, system)

    assert not Notification.objects.exists()
