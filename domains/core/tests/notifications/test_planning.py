"""Priorities, quiet hours, per-user channel preferences and deduplication."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domains.core.models import Notification
from domains.core.services.notification_preferences import notification_preferences_set
from domains.core.services.notifications import notification_send
from domains.core.services.users import preferences_set

pytestmark = pytest.mark.django_db
# 23:30 in Berlin (UTC+1 in winter): inside 22:00-07:00 quiet hours.
NIGHT = datetime(2025, 1, 15, 22, 30, tzinfo=UTC)
DAY = datetime(2025, 1, 15, 11, 0, tzinfo=UTC)


@pytest.fixture
def night_owl(make_user: Callable[..., Any], settings: Any) -> Any:
    settings.DSTA_TELEGRAM_BOT_TOKEN = "123:token"
    user = make_user(email="owl@example.test")
    preferences_set(
        user_id=user.pk,
        document={
            "timezone": "Europe/Berlin",
            "notification_channels": ["in_app", "email"],
            "quiet_hours": {"start": "22:00", "end": "07:00"},
        },
    )
    notification_preferences_set(
        owner_id=user.pk,
        document={
            "channels_by_priority": {
                "critical": ["in_app", "telegram", "email"],
                "low": ["in_app"],
            },
            "telegram_chat_id": "77",
        },
    )
    return user


def plan(user: Any, priority: str, when: datetime, **extra: Any) -> dict[str, tuple[str, Any]]:
    notification = notification_send(
        owner_id=user.pk, body="b", priority=priority, now=when, dispatch=False, **extra
    ).notification
    return {log.channel: (log.status, log.next_retry_at) for log in notification.deliveries.all()}


def test_channels_follow_the_priority_then_the_user_preferences(night_owl: Any) -> None:
    assert set(plan(night_owl, "low", DAY)) == {"in_app"}
    assert set(plan(night_owl, "normal", DAY)) == {"in_app", "email"}  # user preferences
    assert set(plan(night_owl, "critical", DAY)) == {"in_app", "telegram", "email"}
    assert set(plan(night_owl, "low", DAY, channels=["email"])) == {"email"}  # explicit


def test_quiet_hours_hold_external_channels_until_they_end(night_owl: Any) -> None:
    planned = plan(night_owl, "high", NIGHT)
    morning = datetime(2025, 1, 16, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
    assert planned["in_app"] == ("pending", NIGHT)  # in-app is silent: at once
    assert planned["email"] == ("held", morning)
    # pending while in-app is in flight; held once only the held channels remain
    assert Notification.objects.get(priority="high").status == "pending"


def test_critical_bypasses_quiet_hours(night_owl: Any) -> None:
    planned = plan(night_owl, "critical", NIGHT)
    assert {status for status, _ in planned.values()} == {"pending"}


def test_in_app_only_mode_drops_external_channels_in_quiet_hours(night_owl: Any) -> None:
    notification_preferences_set(
        owner_id=night_owl.pk, document={"quiet_hours_mode": "in_app_only"}
    )
    planned = plan(night_owl, "normal", NIGHT)
    assert planned == {"in_app": ("pending", NIGHT), "email": ("skipped", None)}


def test_quiet_hours_that_do_not_wrap_midnight(night_owl: Any) -> None:
    preferences_set(
        user_id=night_owl.pk,
        document={
            "timezone": "UTC",
            "notification_channels": ["email"],
            "quiet_hours": {"start": "09:00", "end": "12:00"},
        },
    )
    assert plan(night_owl, "normal", DAY)["email"][0] == "held"
    assert plan(night_owl, "normal", DAY + timedelta(hours=2))["email"][0] == "pending"


def test_channels_without_a_destination_are_skipped_with_a_reason(
    make_user: Callable[..., Any], settings: Any
) -> None:
    settings.DSTA_TELEGRAM_BOT_TOKEN = ""
    user = make_user()  # no email, no chat id, no webhook
    notification = notification_send(
        owner_id=user.pk,
        body="b",
        channels=["email", "telegram", "webhook", "in_app"],
        dispatch=False,
    ).notification
    reasons = {log.channel: (log.status, log.last_error) for log in notification.deliveries.all()}
    assert reasons == {
        "email": ("skipped", "no email address"),
        "telegram": ("skipped", "telegram is not configured (DSTA_TELEGRAM_BOT_TOKEN)"),
        "webhook": ("skipped", "no webhook URL"),
        "in_app": ("pending", ""),
    }


def test_the_same_dedupe_key_within_the_window_is_one_notification(
    make_user: Callable[..., Any],
) -> None:
    user = make_user()

    def send(when: datetime, key: str = "risk:btc") -> Any:
        return notification_send(
            owner_id=user.pk,
            body="limit",
            dedupe_key=key,
            dedupe_window_seconds=60,
            now=when,
            dispatch=False,
        )

    first = send(DAY)
    again = send(DAY + timedelta(seconds=30))
    assert again.deduplicated
    assert again.notification.pk == first.notification.pk
    assert again.notification.duplicates == 1
    assert not send(DAY + timedelta(seconds=30), key="risk:eth").deduplicated
    assert not send(DAY + timedelta(seconds=61)).deduplicated  # the window has passed
    assert Notification.objects.filter(owner=user).count() == 3
    other = make_user()
    assert not notification_send(
        owner_id=other.pk, body="x", dedupe_key="risk:btc", now=DAY, dispatch=False
    ).deduplicated
