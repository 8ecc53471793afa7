"""Broker configuration, and jobs run end to end on the real Redis and RabbitMQ servers."""

import uuid
from collections.abc import Iterator
from datetime import timedelta

import dramatiq
import pytest
from django.conf import settings
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage, Retries, TimeLimit

from dsta.kernel.jobs.api import (
    JobContext,
    JobStatus,
    build_broker,
    get_broker,
    is_inprocess,
    job_actor,
    start_job,
    start_worker,
    wait_job,
)
from dsta.kernel.jobs.middleware import DbConnections
from dsta.kernel.jobs.tests.conftest import unique


def test_the_configured_broker_follows_settings_and_is_global():
    broker = get_broker()
    expected = {"inprocess": "StubBroker", "redis": "RedisBroker", "rabbitmq": "RabbitmqBroker"}
    assert type(broker).__name__ == expected[settings.BROKER_KIND]
    assert dramatiq.get_broker() is broker
    assert is_inprocess() == isinstance(broker, StubBroker)
    kinds = {type(m) for m in broker.middleware}
    assert {Retries, TimeLimit, CurrentMessage, DbConnections} <= kinds


def test_rabbitmq_queues_carry_the_namespace():
    # Declaring needs no connection: RabbitMQ queues are created lazily on first use.
    broker = build_broker("rabbitmq", url="amqp://guest:guest@127.0.0.1:5672/", namespace="ns1")

    @dramatiq.actor(actor_name=unique("a"), broker=broker, max_retries=0, time_limit=1_000)
    def work() -> None:
        return None

    assert work.queue_name == "ns1.default"
    assert work.message().queue_name == "ns1.default"
    assert broker.get_declared_queues() == {"ns1.default"}


def test_redis_keys_carry_the_namespace():
    broker = build_broker("redis", url="redis://127.0.0.1:6379/0", namespace="ns2")
    assert isinstance(broker, RedisBroker)
    assert broker.namespace == "ns2"


def test_unknown_broker_kind_is_refused():
    with pytest.raises(ValueError, match="unknown BROKER_KIND"):
        build_broker("kafka")


def test_an_actor_without_limits_is_reported(stub_broker, caplog):
    @dramatiq.actor(actor_name=unique("lax"), broker=stub_broker)
    def lax() -> None:
        return None

    assert "does not state max_retries and time_limit" in caplog.text


def _echo_job(broker: dramatiq.Broker, queue: str) -> dramatiq.Actor:
    @job_actor(
        kind=unique("echo"), max_retries=0, time_limit=10_000, broker=broker, queue_name=queue
    )
    def echo(ctx: JobContext, *, word: str) -> dict[str, str]:
        ctx.progress(1, 1, word)
        return {"echo": word}

    return echo


def _run_echo(broker: dramatiq.Broker, queue: str) -> None:
    echo = _echo_job(broker, queue)
    running = start_worker(broker, threads=1, worker_timeout_ms=100)
    try:
        info = start_job(echo, params={"word": "hodl"})
        final = wait_job(info.id, timeout=20, poll_interval=0.05)
    finally:
        running.stop(timeout=timedelta(seconds=10))
    assert final.status is JobStatus.SUCCEEDED
    assert final.result == {"echo": "hodl"}
    assert (final.done, final.total, final.message) == (1, 1, "hodl")


@pytest.fixture
def redis_broker(service_url) -> Iterator[dramatiq.Broker]:
    namespace = f"dsta-test-{uuid.uuid4().hex[:10]}"
    broker = build_broker("redis", url=service_url("redis"), namespace=namespace)
    assert isinstance(broker, RedisBroker)
    yield broker
    broker.client.delete(*broker.client.keys(f"{namespace}*") or [f"{namespace}:none"])
    broker.close()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_job_runs_on_the_real_redis_broker(redis_broker):
    _run_echo(redis_broker, unique("q"))


@pytest.fixture
def rabbitmq_broker(service_url) -> Iterator[dramatiq.Broker]:
    namespace = f"dsta-test-{uuid.uuid4().hex[:10]}"
    broker = build_broker("rabbitmq", url=service_url("rabbitmq"), namespace=namespace)
    assert isinstance(broker, RabbitmqBroker)
    yield broker
    channel = broker.channel
    for queue in broker.get_declared_queues():
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel.queue_delete(name)
    broker.close()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_job_runs_on_the_real_rabbitmq_broker(rabbitmq_broker):
    _run_echo(rabbitmq_broker, unique("q"))
    assert all(q.startswith("dsta-test-") for q in rabbitmq_broker.get_declared_queues())
