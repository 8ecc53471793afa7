"""Sending a notification: validate, render, deduplicate, plan per channel, enqueue.

One transaction stores the notification and one DeliveryLog per channel; the deliveries are
sent to the worker only after it commits. Quiet hours (from the user preferences) hold the
external channels of a non-critical notification until they end, or drop them when the
user's ``quiet_hours_mode`` is ``in_app_only``; in-app (silent) is delivered at once, and a
critical notification ignores quiet hours. The same ``dedupe_key`` for the same user within
the window is one notification: later requests only count in ``duplicates``.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from domains.core.adapters.webhook import where
from domains.core.api import (
    BODY_MAX_CHARS,
    CHANNELS,
    DEDUPE_KEY_MAX_LENGTH,
    PRIORITIES,
    SUBJECT_MAX_CHARS,
    WEBHOOK_SIGNING_SECRET_KEY,
    NotificationChannelUnknown,
    NotificationInvalid,
    NotificationTemplateNotFound,
    UserUnknown,
)
from domains.core.models import DeliveryLog, Notification, NotificationPreference, Secret
from domains.core.services.notification_preferences import (
    DeliveryPlan,
    delivery_plan,
    notification_preferences_of,
)
from domains.core.services.notification_status import notification_status
from domains.core.services.notification_templates import render_template, template_visible
from domains.core.tasks import dispatch_deliveries

DATA_MAX_BYTES = 16 * 1024
DEDUPE_WINDOW_MAX_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class SendResult:
    """The stored notification, and whether this request was a duplicate of it."""

    notification: Notification
    deduplicated: bool


def notification_send(
    *,
    owner_id: int,
    priority: str = "normal",
    subject: str = "",
    body: str = "",
    template: str | None = None,
    variables: dict[str, Any] | None = None,
    channels: list[str] | None = None,
    dedupe_key: str = "",
    dedupe_window_seconds: int | None = None,
    data: dict[str, Any] | None = None,
    source: str = "api",
    now: datetime | None = None,
    dispatch: bool = True,
) -> SendResult:
    """Store a notification for ``owner_id`` and (after commit) deliver it.

    Give either ``body`` (and ``subject``) as text, or ``template`` with ``variables``.
    ``channels`` None follows the user's preferences. Raises NotificationInvalid (also for
    an unknown template), NotificationChannelUnknown, NotificationTemplateVariablesInvalid,
    UserUnknown. ``dispatch=False`` stores without enqueueing (the caller delivers, e.g.
    ``send_test_notification``).
    """
    now = now or timezone.now()
    _check_request(
        priority=priority,
        channels=channels,
        dedupe_key=dedupe_key,
        dedupe_window_seconds=dedupe_window_seconds,
        data=data,
    )
    subject, body, template_name = _text_of(
        owner_id=owner_id,
        subject=subject,
        body=body,
        template=template,
        variables=variables,
    )
    window = timedelta(seconds=dedupe_window_seconds or settings.DSTA_NOTIFICATIONS_DEDUPE_SECONDS)
    with transaction.atomic():
        # Locking the user's row serialises the sends of one user, so two requests with the
        # same dedupe key cannot both pass the check.
        user = get_user_model().objects.select_for_update().filter(pk=owner_id).first()
        if user is None:
            raise UserUnknown(f"no user {owner_id}", details={"user_id": owner_id})
        if dedupe_key:
            original = (
                Notification.objects.filter(
                    owner_id=owner_id, dedupe_key=dedupe_key, created_at__gte=now - window
                )
                .order_by("-created_at")
                .first()
            )
            if original is not None:
                Notification.objects.filter(pk=original.pk).update(duplicates=F("duplicates") + 1)
                original.refresh_from_db()
                return SendResult(notification=original, deduplicated=True)
        plan = delivery_plan(owner_id=owner_id, priority=priority, channels=channels, now=now)
        notification = Notification.objects.create(
            owner_id=owner_id,
            priority=priority,
            subject=subject,
            body=body,
            template_name=template_name,
            data=data or {},
            channels=list(plan.channels),
            dedupe_key=dedupe_key,
            source=source,
            created_at=now,
        )
        preferences = notification_preferences_of(owner_id=owner_id)
        deliveries = [
            _planned_delivery(notification, channel, user, preferences, plan)
            for channel in plan.channels
        ]
        DeliveryLog.objects.bulk_create(deliveries)
        notification.status = notification_status([d.status for d in deliveries])
        notification.save(update_fields=["status"])
        if dispatch:
            waiting = notification.deliveries.filter(
                status__in=[DeliveryLog.Status.PENDING, DeliveryLog.Status.HELD]
            )
            dispatch_deliveries([(d.pk, d.next_retry_at) for d in waiting], now=now)
    return SendResult(notification=notification, deduplicated=False)


def _check_request(
    *,
    priority: Any,
    channels: Any,
    dedupe_key: Any,
    dedupe_window_seconds: Any,
    data: Any,
) -> None:
    if priority not in PRIORITIES:
        raise NotificationInvalid(
            f"priority must be one of {', '.join(PRIORITIES)}", details={"field": "priority"}
        )
    if channels is not None:
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise NotificationInvalid("channels must be a list of channel names")
        unknown = sorted({c for c in channels if c not in CHANNELS})
        if unknown:
            raise NotificationChannelUnknown(
                f"unknown channel(s) {', '.join(unknown)}; channels are {', '.join(CHANNELS)}",
                details={"unknown": unknown, "channels": list(CHANNELS)},
            )
        if len(set(channels)) != len(channels):
            raise NotificationInvalid("a channel is listed twice", details={"field": "channels"})
    if not isinstance(dedupe_key, str) or len(dedupe_key) > DEDUPE_KEY_MAX_LENGTH:
        raise NotificationInvalid(
            f"dedupe_key must be a string of at most {DEDUPE_KEY_MAX_LENGTH} characters"
        )
    if dedupe_window_seconds is not None and (
        isinstance(dedupe_window_seconds, bool)
        or not isinstance(dedupe_window_seconds, int)
        or not 1 <= dedupe_window_seconds <= DEDUPE_WINDOW_MAX_SECONDS
    ):
        raise NotificationInvalid(
            f"dedupe_window_seconds must be an integer from 1 to {DEDUPE_WINDOW_MAX_SECONDS}"
        )
    if data is not None:
        if not isinstance(data, dict):
            raise NotificationInvalid("data must be a JSON object", details={"field": "data"})
        try:
            size = len(json.dumps(data))
        except (TypeError, ValueError) as exc:
            raise NotificationInvalid("data must be JSON", details={"field": "data"}) from exc
        if size > DATA_MAX_BYTES:
            raise NotificationInvalid(f"data is larger than {DATA_MAX_BYTES} bytes of JSON")


def _text_of(
    *,
    owner_id: int,
    subject: Any,
    body: Any,
    template: str | None,
    variables: dict[str, Any] | None,
) -> tuple[str, str, str]:
    if template is not None:
        if body or subject:
            raise NotificationInvalid("give either a template or subject/body, not both")
        if variables is not None and not isinstance(variables, dict):
            raise NotificationInvalid("variables must be a JSON object")
        try:
            row = template_visible(owner_id=owner_id, name=str(template))
        except NotificationTemplateNotFound as exc:
            # In a send, an unknown template is bad input (400), not a missing resource.
            raise NotificationInvalid(
                f"no template {template!r}", details={"template": str(template)}
            ) from exc
        rendered_subject, rendered_body = render_template(
            subject=row.subject, body=row.body, variables=variables or {}, expected=row.variables
        )
        return rendered_subject, rendered_body, row.name
    if variables:
        raise NotificationInvalid("variables need a template")
    if not isinstance(body, str) or not body.strip():
        raise NotificationInvalid("body (or a template) is required", details={"field": "body"})
    if not isinstance(subject, str) or len(subject) > SUBJECT_MAX_CHARS:
        raise NotificationInvalid(f"subject must be a string of at most {SUBJECT_MAX_CHARS}")
    if len(body) > BODY_MAX_CHARS:
        raise NotificationInvalid(f"body is longer than {BODY_MAX_CHARS} characters")
    return subject, body, ""


def destination_of(channel: str, user: Any, preferences: NotificationPreference) -> tuple[str, str]:
    """``(destination, "")`` for a channel the user can receive on, or ``("", reason)``."""
    if channel == "in_app":
        return f"user:{user.pk}", ""
    if channel == "email":
        address = preferences.email or user.email
        return (address, "") if address else ("", "no email address")
    if channel == "telegram":
        if not settings.DSTA_TELEGRAM_BOT_TOKEN:
            return "", "telegram is not configured (DSTA_TELEGRAM_BOT_TOKEN)"
        chat = preferences.telegram_chat_id
        return (f"chat {chat}", "") if chat else ("", "no telegram chat id")
    if channel == "webhook":
        if not preferences.webhook_url:
            return "", "no webhook URL"
        if not Secret.objects.filter(owner_id=user.pk, key=WEBHOOK_SIGNING_SECRET_KEY).exists():
            return "", f"no webhook signing key (secret {WEBHOOK_SIGNING_SECRET_KEY})"
        return where(preferences.webhook_url), ""
    raise NotificationChannelUnknown(f"unknown channel {channel!r}")


def _planned_delivery(
    notification: Notification,
    channel: str,
    user: Any,
    preferences: NotificationPreference,
    plan: DeliveryPlan,
) -> DeliveryLog:
    destination, reason = destination_of(channel, user, preferences)
    log = DeliveryLog(
        notification=notification,
        channel=channel,
        destination=destination[:300],
        next_retry_at=notification.created_at,
        updated_at=notification.created_at,
    )
    if reason:
        log.status, log.last_error, log.next_retry_at = DeliveryLog.Status.SKIPPED, reason, None
    elif plan.quiet_until is not None and channel != "in_app":
        if plan.quiet_hours_mode == NotificationPreference.QuietHoursMode.IN_APP_ONLY:
            log.status, log.next_retry_at = DeliveryLog.Status.SKIPPED, None
            log.last_error = "quiet hours: in-app only"
        else:
            log.status, log.next_retry_at = DeliveryLog.Status.HELD, plan.quiet_until
    return log
