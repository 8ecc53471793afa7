"""Other domains notify users by publishing NotificationRequested; core delivers it."""

import logging
from collections.abc import Callable
from typing import Any

import pytest

from domains.core.events import NotificationRequested
from domains.core.handlers import on_notification_requested
from domains.core.models import Notification
from domains.core.services.notification_templates import template_create
from dsta.kernel.bus import publish

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_published_request_becomes_a_notification(make_user: Callable[..., Any]) -> None:
    user = make_user()
    publish(
        NotificationRequested(
            user_id=user.pk,
            source="trading",
            priority="high",
            subject="Risk",
            body="Max drawdown breached",
            channels=["in_app"],
            data={"strategy": "s1"},
        )
    )
    notification = Notification.objects.get(owner=user)
    assert (notification.subject, notification.body, notification.priority) == (
        "Risk",
        "Max drawdown breached",
        "high",
    )
    assert notification.source == "event:trading"
    assert notification.data == {"strategy": "s1"}
    assert [d.channel for d in notification.deliveries.all()] == ["in_app"]


def test_a_redelivered_event_notifies_once(make_user: Callable[..., Any]) -> None:
    user = make_user()
    event = NotificationRequested(user_id=user.pk, source="data", body="Backtest done", channels=[])
    on_notification_requested(event)
    on_notification_requested(event)  # the same event id again (at-least-once delivery)
    [notification] = Notification.objects.filter(owner=user)
    assert notification.duplicates == 1
    assert notification.dedupe_key == f"event:{event.id}"


def test_templates_render_from_event_variables(make_user: Callable[..., Any]) -> None:
    user = make_user()
    template_create(
        owner_id=None,
        name="order_filled",
        subject="{{ side }} {{ symbol }}",
        body="{{ amount }} at {{ price }}",
    )
    publish(
        NotificationRequested(
            user_id=user.pk,
            source="exchange",
            template="order_filled",
            channels=[],
            variables={"side": "buy", "symbol": "ETH/USDT", "amount": "2", "price": "3000"},
        )
    )
    notification = Notification.objects.get(owner=user)
    assert (notification.subject, notification.body) == ("buy ETH/USDT", "2 at 3000")


@pytest.mark.parametrize(
    "request_fields",
    [
        {"user_id": 10**9, "body": "nobody home"},
        {"body": "x", "channels": ["pager"]},
        {"template": "missing-template"},
    ],
)
def test_a_request_core_cannot_honour_is_logged_and_dropped(
    make_user: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
    request_fields: dict[str, Any],
) -> None:
    fields = {"user_id": make_user().pk, "source": "ml", **request_fields}
    with caplog.at_level(logging.WARNING, logger="domains.core.handlers"):
        on_notification_requested(NotificationRequested(**fields))
    assert not Notification.objects.exists()
    [record] = [r for r in caplog.records if r.message == "notification request dropped"]
    assert record.source == "ml"  # type: ignore[attr-defined]
