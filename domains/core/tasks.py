"""dramatiq actors of the core domain: notification delivery and its sweeper.

``deliver_notification`` makes one attempt per message. A transient failure raises
``dramatiq.Retry`` with our own backoff (recorded as the delivery's ``next_retry_at``), so
dramatiq's retry machinery carries the message; a delivery that is not due yet (held for
quiet hours) is sent again with a delay. Messages only ever carry a delivery id.
"""

from datetime import datetime

import dramatiq
from django.db import transaction
from django.utils import timezone

from domains.core.services.notification_delivery import deliveries_overdue, delivery_attempt
from dsta.kernel.jobs.api import periodic

DELIVERY_QUEUE = "core.notifications"
# Above any sensible DSTA_NOTIFICATIONS_MAX_ATTEMPTS: our own count decides when to stop.
DELIVERY_MAX_RETRIES = 20
# One attempt: an HTTP call or an SMTP session with a 10 s timeout, with room to spare.
DELIVERY_TIME_LIMIT_MS = 60_000


@dramatiq.actor(
    actor_name="core.deliver_notification",
    queue_name=DELIVERY_QUEUE,
    max_retries=DELIVERY_MAX_RETRIES,
    time_limit=DELIVERY_TIME_LIMIT_MS,
    min_backoff=1_000,
    max_backoff=3_600_000,
)
def deliver_notification(delivery_id: int) -> None:
    """Make one attempt at delivery ``delivery_id`` (see ``delivery_attempt``)."""
    outcome = delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        raise dramatiq.Retry(
            f"notification delivery {delivery_id} failed transiently",
            delay=max(1, int(outcome.retry_in * 1000)),
        )
    if outcome.wait is not None:
        deliver_notification.send_with_options(
            kwargs={"delivery_id": delivery_id}, delay=max(1, int(outcome.wait * 1000))
        )


@periodic("* * * * *", name="core.notifications_sweep")
@dramatiq.actor(
    actor_name="core.sweep_notification_deliveries",
    queue_name=DELIVERY_QUEUE,
    max_retries=0,
    time_limit=60_000,
)
def sweep_notification_deliveries() -> None:
    """Re-send deliveries whose message was lost (in-process broker restarts, a dead
    worker); claiming makes a duplicate harmless."""
    for delivery_id in deliveries_overdue():
        deliver_notification.send(delivery_id=delivery_id)


def dispatch_deliveries(
    deliveries: list[tuple[int, datetime | None]], *, now: datetime | None = None
) -> None:
    """After the current transaction commits, send each delivery's first message: at once
    when it is due, else with a delay until ``next_retry_at`` (held for quiet hours)."""
    now = now or timezone.now()
    messages = []
    for delivery_id, due in deliveries:
        delay_ms = int((due - now).total_seconds() * 1000) if due is not None else 0
        messages.append((delivery_id, max(0, delay_ms)))

    def send() -> None:
        for delivery_id, delay_ms in messages:
            deliver_notification.send_with_options(
                kwargs={"delivery_id": delivery_id}, delay=delay_ms or None
            )

    # Never inside the open transaction: a worker must not pick up rows it cannot see yet.
    transaction.on_commit(send, robust=True)
