"""One delivery attempt of one notification on one channel, and its bookkeeping.

The attempt claims its DeliveryLog row with a conditional UPDATE (waiting and due, or stuck
in ``sending`` past the stale limit), so a duplicate message does nothing. A transient
failure schedules the next attempt after ``base * 2^(attempts-1)`` seconds (capped, or the
peer's Retry-After when longer) until ``DSTA_NOTIFICATIONS_MAX_ATTEMPTS``; a permanent one
fails the delivery at once.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from domains.core.adapters.delivery_errors import PermanentDeliveryError, TransientDeliveryError
from domains.core.adapters.in_app import push_in_app
from domains.core.adapters.mail import send_email
from domains.core.adapters.telegram import send_telegram, telegram_text
from domains.core.adapters.webhook import post_webhook
from domains.core.api import WEBHOOK_SIGNING_SECRET_KEY, SecretNotFound, SecretUndecryptable
from domains.core.models import DeliveryLog, Notification, NotificationPreference
from domains.core.services.notification_status import notification_status_refresh
from domains.core.services.secrets import secret_read

logger = logging.getLogger(__name__)

WAITING = (DeliveryLog.Status.PENDING, DeliveryLog.Status.RETRYING, DeliveryLog.Status.HELD)
# A message may run a little before its due time (clock granularity of the broker's delay).
EARLY_TOLERANCE = timedelta(seconds=1)
# A row left in "sending" this long lost its worker (twice the actor's time limit).
STALE_SENDING = timedelta(seconds=120)
ERROR_MAX_CHARS = 1000


@dataclass(frozen=True)
class AttemptOutcome:
    """What an attempt came to. ``retry_in``: a transient failure, try again in that many
    seconds; ``wait``: not due yet, come back in that many seconds."""

    status: str
    retry_in: float | None = None
    wait: float | None = None


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """The pause after the ``attempts``-th failed attempt: exponential, capped, at least the
    peer's own Retry-After."""
    base = float(settings.DSTA_NOTIFICATIONS_RETRY_BASE_SECONDS)
    cap = float(settings.DSTA_NOTIFICATIONS_RETRY_MAX_SECONDS)
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return max(delay, min(cap, retry_after or 0.0))


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> AttemptOutcome:
    """Claim the delivery if it is due, send it, and record the outcome."""
    now = now or timezone.now()
    claimed = (
        DeliveryLog.objects.filter(pk=delivery_id)
        .filter(
            Q(status__in=WAITING, next_retry_at__lte=now + EARLY_TOLERANCE)
            | Q(status=DeliveryLog.Status.SENDING, updated_at__lt=now - STALE_SENDING)
        )
        .update(status=DeliveryLog.Status.SENDING, attempts=F("attempts") + 1, updated_at=now)
    )
    log = DeliveryLog.objects.select_related("notification").filter(pk=delivery_id).first()
    if log is None:
        return AttemptOutcome(status="gone")
    if not claimed:
        if log.status in WAITING and log.next_retry_at is not None and log.next_retry_at > now:
            return AttemptOutcome(status=log.status, wait=(log.next_retry_at - now).total_seconds())
        return AttemptOutcome(status=log.status)  # done, or another worker is on it
    try:
        _send(log)
    except PermanentDeliveryError as exc:
        return _finish(log, DeliveryLog.Status.FAILED, error=str(exc))
    except TransientDeliveryError as exc:
        return _transient(log, str(exc), exc.retry_after, now)
    except Exception as exc:
        # A bug or an outage we did not foresee: logged with its traceback, and retried
        # like a transient failure so the delivery is never left "sending".
        logger.exception(
            "notification delivery failed unexpectedly",
            extra={"delivery_id": log.pk, "channel": log.channel},
        )
        return _transient(log, f"unexpected error: {type(exc).__name__}", None, now)
    return _finish(log, DeliveryLog.Status.SENT, error="")


def _transient(
    log: DeliveryLog, error: str, retry_after: float | None, now: datetime
) -> AttemptOutcome:
    if log.attempts >= settings.DSTA_NOTIFICATIONS_MAX_ATTEMPTS:
        return _finish(
            log, DeliveryLog.Status.FAILED, error=f"gave up after {log.attempts} attempts: {error}"
        )
    delay = backoff_seconds(log.attempts, retry_after)
    log.status = DeliveryLog.Status.RETRYING
    log.last_error = error[:ERROR_MAX_CHARS]
    log.next_retry_at = now + timedelta(seconds=delay)
    log.updated_at = timezone.now()
    # The log and the notification's summary change together: a reader never sees one
    # without the other.
    with transaction.atomic():
        log.save(update_fields=["status", "last_error", "next_retry_at", "updated_at"])
        notification_status_refresh(log.notification_id)
    logger.info(
        "notification delivery will be retried",
        extra={"delivery_id": log.pk, "channel": log.channel, "attempts": log.attempts},
    )
    return AttemptOutcome(status=log.status, retry_in=delay)


def _finish(log: DeliveryLog, status: str, *, error: str) -> AttemptOutcome:
    finished = timezone.now()
    log.status = status
    log.last_error = error[:ERROR_MAX_CHARS]
    log.next_retry_at = None
    log.updated_at = finished
    if status == DeliveryLog.Status.SENT:
        log.sent_at = finished
    with transaction.atomic():
        log.save(update_fields=["status", "last_error", "next_retry_at", "updated_at", "sent_at"])
        notification_status_refresh(log.notification_id)
    if status == DeliveryLog.Status.FAILED:
        logger.warning(
            "notification delivery failed",
            extra={"delivery_id": log.pk, "channel": log.channel, "error": log.last_error},
        )
    return AttemptOutcome(status=status)


def notification_payload(notification: Notification) -> dict[str, Any]:
    """The JSON form of a notification: the in-app frame and the webhook body."""
    return {
        "id": str(notification.pk),
        "user_id": notification.owner_id,
        "priority": notification.priority,
        "subject": notification.subject,
        "body": notification.body,
        "template": notification.template_name or None,
        "data": notification.data,
        "source": notification.source,
        "created_at": notification.created_at.isoformat(),
    }


def _send(log: DeliveryLog) -> None:
    notification = log.notification
    preferences = NotificationPreference.objects.filter(owner_id=notification.owner_id).first()
    preferences = preferences or NotificationPreference(owner_id=notification.owner_id)
    timeout = float(settings.DSTA_NOTIFICATIONS_HTTP_TIMEOUT_SECONDS)
    if log.channel == "in_app":
        push_in_app(user_id=notification.owner_id, notification=notification_payload(notification))
    elif log.channel == "email":
        address = preferences.email or _account_email(notification)
        if not address:
            raise PermanentDeliveryError("no email address")
        send_email(
            to=address,
            subject=notification.subject,
            body=notification.body,
            headers={"X-DSTA-Notification": str(notification.pk)},
        )
    elif log.channel == "telegram":
        if not preferences.telegram_chat_id:
            raise PermanentDeliveryError("no telegram chat id")
        send_telegram(
            api_base=settings.DSTA_TELEGRAM_API_BASE,
            token=settings.DSTA_TELEGRAM_BOT_TOKEN,
            chat_id=preferences.telegram_chat_id,
            text=telegram_text(subject=notification.subject, body=notification.body),
            timeout=timeout,
        )
    elif log.channel == "webhook":
        if not preferences.webhook_url:
            raise PermanentDeliveryError("no webhook URL")
        post_webhook(
            url=preferences.webhook_url,
            payload={"type": "notification", "notification": notification_payload(notification)},
            secret=_webhook_secret(notification.owner_id),
            timeout=timeout,
            allow_private=settings.DSTA_NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE,
        )
    else:
        raise PermanentDeliveryError(f"unknown channel {log.channel!r}")


def _account_email(notification: Notification) -> str:
    emails = get_user_model().objects.filter(pk=notification.owner_id).values_list("email")
    return next((email for (email,) in emails), "")


def _webhook_secret(owner_id: int) -> str:
    try:
        return secret_read(
            owner_id=owner_id, key=WEBHOOK_SIGNING_SECRET_KEY, reader="core.notifications"
        ).value
    except SecretNotFound as exc:
        raise PermanentDeliveryError(
            f"no webhook signing key (secret {WEBHOOK_SIGNING_SECRET_KEY})"
        ) from exc
    except SecretUndecryptable as exc:
        # An operator can fix the key list; until then, keep trying.
        raise TransientDeliveryError("the webhook signing key cannot be decrypted") from exc


def deliveries_overdue(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Deliveries whose message seems lost: due for over a minute, or stuck in "sending"
    (a worker died mid-attempt). The sweeper sends them again; the claim makes that safe."""
    now = now or timezone.now()
    ids = (
        DeliveryLog.objects.filter(
            Q(status__in=WAITING, next_retry_at__lte=now - timedelta(seconds=60))
            | Q(status=DeliveryLog.Status.SENDING, updated_at__lt=now - STALE_SENDING)
        )
        .order_by("next_retry_at")
        .values_list("pk", flat=True)[:limit]
    )
    return list(ids)
