"""Where a user's notifications go: channels per priority, destinations, quiet hours.

Two documents decide it. The user preferences (``UserPreferences``: timezone,
``notification_channels``, ``quiet_hours``) are the user's general settings; the
notification preferences here add what only notifications need: per-priority channel lists,
the destinations (email override, Telegram chat id, webhook URL) and what quiet hours do.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from domains.core.api import CHANNELS, PRIORITIES, NotificationInvalid, UserPreferences
from domains.core.models import NotificationPreference
from domains.core.services.users import preferences_get

# A numeric chat id (negative for groups) or a public channel's @username.
TELEGRAM_CHAT_ID = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,63})$")
_FIELDS = ("channels_by_priority", "email", "telegram_chat_id", "webhook_url", "quiet_hours_mode")
_URL = URLValidator(schemes=["http", "https"])


def notification_preferences_of(*, owner_id: int) -> NotificationPreference:
    """The stored notification preferences, or unsaved defaults."""
    row = NotificationPreference.objects.filter(owner_id=owner_id).first()
    return row if row is not None else NotificationPreference(owner_id=owner_id)


def notification_preferences_set(*, owner_id: int, document: Any) -> NotificationPreference:
    """Replace the user's notification preferences with ``document`` (fields left out take
    their defaults); NotificationInvalid lists every problem."""
    problems = notification_preferences_problems(document)
    if problems:
        raise NotificationInvalid(
            "invalid notification preferences", details={"problems": problems}
        )
    if not get_user_model().objects.filter(pk=owner_id).exists():
        raise NotificationInvalid(f"no user {owner_id}", details={"user_id": owner_id})
    row, _ = NotificationPreference.objects.update_or_create(
        owner_id=owner_id,
        defaults={
            "channels_by_priority": document.get("channels_by_priority", {}),
            "email": document.get("email", ""),
            "telegram_chat_id": document.get("telegram_chat_id", ""),
            "webhook_url": document.get("webhook_url", ""),
            "quiet_hours_mode": document.get(
                "quiet_hours_mode", NotificationPreference.QuietHoursMode.DEFER
            ),
        },
    )
    return row


def notification_preferences_problems(document: Any) -> list[str]:
    """Every problem of a notification preferences document ("field: what is expected")."""
    if not isinstance(document, dict):
        return ["$: a JSON object"]
    problems = [f"{name}: unknown field" for name in sorted(set(document) - set(_FIELDS))]
    channels_by_priority = document.get("channels_by_priority", {})
    problems += _channel_problems(channels_by_priority)
    email = document.get("email", "")
    if not isinstance(email, str):
        problems.append("email: a string")
    elif email:
        try:
            validate_email(email)
        except ValidationError:
            problems.append("email: not an email address")
    chat_id = document.get("telegram_chat_id", "")
    if not isinstance(chat_id, str) or (chat_id and not TELEGRAM_CHAT_ID.match(chat_id)):
        problems.append("telegram_chat_id: a numeric chat id or an @channel name")
    webhook_url = document.get("webhook_url", "")
    if not isinstance(webhook_url, str) or len(webhook_url) > 500:
        problems.append("webhook_url: a string of at most 500 characters")
    elif webhook_url:
        try:
            _URL(webhook_url)
        except ValidationError:
            problems.append("webhook_url: an http(s) URL")
    mode = document.get("quiet_hours_mode", NotificationPreference.QuietHoursMode.DEFER)
    if mode not in NotificationPreference.QuietHoursMode.values:
        modes = ", ".join(NotificationPreference.QuietHoursMode.values)
        problems.append(f"quiet_hours_mode: one of {modes}")
    return problems


def _channel_problems(channels_by_priority: Any) -> list[str]:
    if not isinstance(channels_by_priority, dict):
        return ["channels_by_priority: an object of priority -> list of channels"]
    problems = []
    for priority, channels in channels_by_priority.items():
        where = f"channels_by_priority.{priority}"
        if priority not in PRIORITIES:
            problems.append(f"{where}: unknown priority (one of {', '.join(PRIORITIES)})")
        elif not isinstance(channels, list) or not all(c in CHANNELS for c in channels):
            problems.append(f"{where}: a list of channels among {', '.join(CHANNELS)}")
        elif len(set(channels)) != len(channels):
            problems.append(f"{where}: a channel is listed twice")
    return problems


@dataclass(frozen=True)
class DeliveryPlan:
    """What the preferences say for one notification: its channels, and the end of the
    quiet hours it falls in (None: not in quiet hours, or critical)."""

    channels: tuple[str, ...]
    quiet_until: datetime | None
    quiet_hours_mode: str


def delivery_plan(
    *, owner_id: int, priority: str, channels: list[str] | None, now: datetime
) -> DeliveryPlan:
    """The channels (``channels`` when given, else the priority's list, else the user
    preferences' ``notification_channels``) and the quiet-hours state of a notification."""
    general = preferences_get(user_id=owner_id)
    own = notification_preferences_of(owner_id=owner_id)
    chosen = channels
    if chosen is None:
        chosen = own.channels_by_priority.get(priority)
    if chosen is None:
        chosen = list(general.notification_channels)
    quiet = None if priority == "critical" else quiet_hours_end(general, now)
    return DeliveryPlan(
        channels=tuple(chosen), quiet_until=quiet, quiet_hours_mode=own.quiet_hours_mode
    )


def quiet_hours_end(preferences: UserPreferences, now: datetime) -> datetime | None:
    """When the quiet hours ``now`` falls in end (aware), or None outside quiet hours.

    The window is read in the user's timezone; ``start`` after ``end`` wraps midnight
    (22:00-07:00), and ``start == end`` is an empty window.
    """
    window = preferences.quiet_hours
    if window is None:
        return None
    try:
        zone = ZoneInfo(preferences.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    start, end = _clock(window.start), _clock(window.end)
    local = now.astimezone(zone)
    current = local.time().replace(tzinfo=None)
    if start == end:
        return None
    if start < end:
        inside = start <= current < end
        end_day: date = local.date()
    else:
        inside = current >= start or current < end
        end_day = local.date() + timedelta(days=1) if current >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone)


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
