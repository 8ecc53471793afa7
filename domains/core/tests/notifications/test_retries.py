"""Deliveries run on a real dramatiq worker: transient failures are retried with backoff
until they succeed (or the attempts run out); a permanent failure is not retried."""

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from dramatiq.brokers.stub import StubBroker

from domains.core.models import DeliveryLog, Notification
from domains.core.services.notifications import notification_send
from domains.core.tasks import DELIVERY_QUEUE
from domains.core.tests.notifications.peers import HttpPeer
from dsta.kernel.jobs.api import RunningWorker, get_broker, start_worker

pytestmark = pytest.mark.django_db(transaction=True)
FINAL = {DeliveryLog.Status.SENT, DeliveryLog.Status.FAILED, DeliveryLog.Status.SKIPPED}


@pytest.fixture
def worker() -> Iterator[RunningWorker]:
    """A real worker on the configured broker, consuming only the notification queue."""
    broker = get_broker()
    if isinstance(broker, StubBroker):
        # Messages other tests of this process left behind are not ours to run.
        broker.flush(DELIVERY_QUEUE)
    running = start_worker(broker, threads=2, queues={DELIVERY_QUEUE}, worker_timeout_ms=50)
    yield running
    running.stop(timeout=timedelta(seconds=10))


def wait_until_final(notification: Notification, timeout: float = 20.0) -> list[DeliveryLog]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = list(DeliveryLog.objects.filter(notification=notification).order_by("channel"))
        if logs and all(log.status in FINAL for log in logs):
            return logs
        time.sleep(0.05)
    raise AssertionError(f"deliveries not final after {timeout}s: {logs}")


def test_500s_are_retried_with_backoff_then_succeed_and_a_400_is_not_retried(
    worker: RunningWorker,
    fast_retries: None,
    telegram_peer: HttpPeer,
    webhook_peer: HttpPeer,
    recipient: Callable[..., Any],
) -> None:
    telegram_peer.fail_first(2, 500, then=lambda request: (200, {"ok": True}))
    webhook_peer.respond = lambda request: (400, {"error": "unknown event type"})
    user = recipient(telegram=telegram_peer, webhook=webhook_peer)
    notification = notification_send(
        owner_id=user.pk, subject="s", body="b", channels=["telegram", "webhook"]
    ).notification
    telegram, webhook = wait_until_final(notification)

    assert (telegram.channel, telegram.status, telegram.attempts) == ("telegram", "sent", 3)
    assert len(telegram_peer.requests) == 3
    assert telegram.last_error == ""
    assert telegram.sent_at is not None
    # Backoff 0.05 s then 0.1 s (base 0.05 s, doubling): never sooner than that.
    first, second, third = (request.received_at for request in telegram_peer.requests)
    assert second - first >= 0.05
    assert third - second >= 0.1

    assert (webhook.channel, webhook.status, webhook.attempts) == ("webhook", "failed", 1)
    assert webhook.last_error == "webhook HTTP 400"
    assert len(webhook_peer.requests) == 1  # no pointless retries
    notification.refresh_from_db()
    assert notification.status == "partially_delivered"


def test_attempts_run_out_and_the_delivery_fails(
    worker: RunningWorker,
    fast_retries: None,
    telegram_peer: HttpPeer,
    recipient: Callable[..., Any],
) -> None:
    telegram_peer.respond = lambda request: (502, {"ok": False, "description": "Bad Gateway"})
    user = recipient(telegram=telegram_peer)
    notification = notification_send(owner_id=user.pk, body="b", channels=["telegram"]).notification
    [log] = wait_until_final(notification)
    assert (log.status, log.attempts) == ("failed", 4)  # DSTA_NOTIFICATIONS_MAX_ATTEMPTS
    assert log.last_error == "gave up after 4 attempts: telegram HTTP 502: Bad Gateway"
    assert len(telegram_peer.requests) == 4
    notification.refresh_from_db()
    assert notification.status == "failed"


def test_nothing_is_sent_when_the_transaction_rolls_back(
    worker: RunningWorker, telegram_peer: HttpPeer, recipient: Callable[..., Any]
) -> None:
    user = recipient(telegram=telegram_peer)

    def send_then_fail() -> None:
        with transaction.atomic():
            notification_send(owner_id=user.pk, body="b", channels=["telegram"])
            raise RuntimeError("the caller's transaction fails")

    with pytest.raises(RuntimeError):
        send_then_fail()
    assert not Notification.objects.exists()
    # The worker had nothing to do: a later, committed send is the first the peer sees.
    later = notification_send(owner_id=user.pk, body="c", channels=["telegram"]).notification
    wait_until_final(later)
    assert [request.json()["text"] for request in telegram_peer.requests] == ["c"]
