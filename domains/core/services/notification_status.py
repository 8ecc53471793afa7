"""A notification's overall status, summed up from its deliveries."""

from collections.abc import Iterable
from uuid import UUID

from django.db import transaction

from domains.core.models import DeliveryLog, Notification

_IN_FLIGHT = {
    DeliveryLog.Status.PENDING,
    DeliveryLog.Status.SENDING,
    DeliveryLog.Status.RETRYING,
}


def notification_status(statuses: Iterable[str]) -> str:
    """pending while any delivery is in flight, held while one waits for quiet hours to end,
    then delivered / partially_delivered / failed by what was sent, skipped if nothing was
    (no channel, no destination)."""
    seen = list(statuses)
    if any(status in _IN_FLIGHT for status in seen):
        return Notification.Status.PENDING
    if DeliveryLog.Status.HELD in seen:
        return Notification.Status.HELD
    sent = DeliveryLog.Status.SENT in seen
    failed = DeliveryLog.Status.FAILED in seen
    if sent and failed:
        return Notification.Status.PARTIALLY_DELIVERED
    if sent:
        return Notification.Status.DELIVERED
    if failed:
        return Notification.Status.FAILED
    return Notification.Status.SKIPPED


def notification_status_refresh(notification_id: UUID) -> str:
    """Recompute and store a notification's status from its deliveries (row-locked, so
    deliveries finishing at once on two channels cannot overwrite each other's outcome)."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None:
            return ""
        status = notification_status(
            DeliveryLog.objects.filter(notification_id=notification_id).values_list(
                "status", flat=True
            )
        )
        if status != notification.status:
            notification.status = status
            notification.save(update_fields=["status"])
        return status
