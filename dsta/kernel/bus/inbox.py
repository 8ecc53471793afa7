"""Per-subscriber dedupe: run a handler at most once per event, whatever the redeliveries.

The receipt row and the handler's own writes share one transaction: if the handler fails,
both roll back and the event is retried for that subscriber; if it succeeds, a redelivery
finds the receipt and is a no-op. Every transport delivers through ``handle_once``.
"""

import logging
from datetime import datetime
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from dsta.kernel.bus import metrics
from dsta.kernel.bus.event import Event
from dsta.kernel.bus.models import InboxReceipt
from dsta.kernel.bus.registry import Subscription

logger = logging.getLogger(__name__)


def handle_once(subscription: Subscription, event: Event) -> bool:
    """Run ``subscription``'s handler on ``event`` unless its subscriber already did.

    Returns True when the handler ran, False for a duplicate. A handler exception rolls back
    the receipt with the handler's writes and propagates to the caller, which retries later.
    """
    try:
        with transaction.atomic():
            if not _write_receipt(subscription, event):
                metrics.inc(metrics.duplicates, event.name, subscription.subscriber)
                return False
            subscription.handler(event)
    except Exception:
        metrics.inc(metrics.handler_failures, event.name, subscription.subscriber)
        logger.warning(
            "bus handler failed",
            extra={
                "event": event.name,
                "event_id": str(event.id),
                "subscriber": subscription.subscriber,
            },
            exc_info=True,
        )
        raise
    metrics.inc(metrics.delivered, event.name, subscription.subscriber)
    return True


def already_handled(subscriber: str, event_id: UUID) -> bool:
    """Whether ``subscriber`` has a receipt for ``event_id`` (for tests and the admin)."""
    return InboxReceipt.objects.filter(subscriber=subscriber, event_id=event_id).exists()


def _write_receipt(subscription: Subscription, event: Event) -> bool:
    """Insert the receipt unless it exists; True when this call inserted it.

    ``INSERT ... ON CONFLICT DO NOTHING`` (PostgreSQL and SQLite) instead of an ORM
    create in a savepoint: one statement on the hot path, and on PostgreSQL a concurrent
    delivery of the same event waits for the first one's commit and then skips.
    """
    meta = InboxReceipt._meta
    quote = connection.ops.quote_name
    now: datetime = timezone.now()
    values = [
        meta.get_field("subscriber").get_db_prep_save(subscription.subscriber, connection),
        meta.get_field("event_id").get_db_prep_save(event.id, connection),
        meta.get_field("event_name").get_db_prep_save(event.name, connection),
        meta.get_field("handled_at").get_db_prep_save(now, connection),
    ]
    columns = ", ".join(quote(c) for c in ("subscriber", "event_id", "event_name", "handled_at"))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608 (names from the model)
        "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.rowcount == 1
