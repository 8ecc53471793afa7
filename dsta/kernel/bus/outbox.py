"""The outbox table's operations: write, claim, settle, retry dead letters, prune, measure.

Claiming is how several relays share one table: on PostgreSQL the due rows are locked with
``SELECT ... FOR UPDATE SKIP LOCKED`` and leased (``next_attempt_at`` moved past the lease)
in one short transaction, so no other relay sees them while this one delivers outside any
transaction. On SQLite the claim is an ordered scan; its single writer lock serialises
relays. A relay that dies mid-delivery leaves its rows leased; they come back when the
lease runs out.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Count, F, Min
from django.utils import timezone

from dsta.kernel.bus import metrics
from dsta.kernel.bus.conf import BusSettings
from dsta.kernel.bus.envelope import Envelope
from dsta.kernel.bus.event import Event
from dsta.kernel.bus.models import InboxReceipt, OutboxMessage

State = OutboxMessage.State
_MAX_ERROR_CHARS = 4000


@dataclass(frozen=True)
class Claimed:
    """An outbox row this relay holds the lease on."""

    pk: int
    attempts: int  # including the one now starting
    envelope: Envelope


@dataclass(frozen=True)
class Backlog:
    pending: int
    dead: int
    oldest_pending_age_seconds: float


def write(event: Event) -> None:
    """Insert ``event`` into the outbox in the caller's transaction.

    Publishing the same event (same id) twice is a no-op at the source: the insert ignores
    the conflict on ``event_id``.
    """
    envelope = Envelope.from_event(event)
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                event_id=envelope.event_id,
                name=envelope.name,
                minor=envelope.minor,
                payload=envelope.payload,
                occurred_at=event.occurred_at,
            )
        ],
        ignore_conflicts=True,
    )


def claim(
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    event_ids: Sequence[UUID] | None = None,
) -> list[Claimed]:
    """Lease up to ``limit`` due pending rows (oldest first), optionally only ``event_ids``."""
    with transaction.atomic():
        rows = OutboxMessage.objects.filter(state=State.PENDING, next_attempt_at__lte=now)
        if event_ids is not None:
            rows = rows.filter(event_id__in=list(event_ids))
        rows = rows.order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        batch = list(
            rows.values_list("pk", "event_id", "name", "minor", "payload", "attempts")[:limit]
        )
        if not batch:
            return []
        OutboxMessage.objects.filter(pk__in=[row[0] for row in batch]).update(
            next_attempt_at=now + lease, attempts=F("attempts") + 1
        )
    return [
        Claimed(
            pk=pk,
            attempts=attempts + 1,
            envelope=Envelope(event_id=event_id, name=name, minor=minor, payload=payload),
        )
        for pk, event_id, name, minor, payload, attempts in batch
    ]


def mark_delivered(claimed: Iterable[Claimed], *, now: datetime, transport: str) -> None:
    """Settle successfully handed-over rows."""
    rows = list(claimed)
    if not rows:
        return
    OutboxMessage.objects.filter(pk__in=[row.pk for row in rows]).update(
        state=State.DELIVERED, delivered_at=now, last_error=""
    )
    for row in rows:
        metrics.inc(metrics.relayed, row.envelope.name, transport)


def mark_failed(row: Claimed, *, error: str, now: datetime, conf: BusSettings) -> str:
    """Schedule a retry with backoff, or dead-letter the row after its last attempt.

    Returns the row's new state.
    """
    error = error[-_MAX_ERROR_CHARS:]
    if row.attempts >= conf.max_attempts:
        OutboxMessage.objects.filter(pk=row.pk).update(state=State.DEAD, last_error=error)
        metrics.inc(metrics.dead_lettered, row.envelope.name)
        return State.DEAD
    OutboxMessage.objects.filter(pk=row.pk).update(
        next_attempt_at=now + conf.backoff(row.attempts), last_error=error
    )
    metrics.inc(metrics.retried, row.envelope.name)
    return State.PENDING


def retry_dead(*, event_ids: Sequence[UUID] | None = None, now: datetime | None = None) -> int:
    """Give dead letters (all, or those of ``event_ids``) a fresh set of attempts."""
    rows = OutboxMessage.objects.filter(state=State.DEAD)
    if event_ids is not None:
        rows = rows.filter(event_id__in=list(event_ids))
    return rows.update(state=State.PENDING, attempts=0, next_attempt_at=now or timezone.now())


def prune(*, older_than: datetime) -> tuple[int, int]:
    """Delete delivered rows and inbox receipts older than ``older_than``.

    Receipts must outlive any redelivery of their event, so keep them well past the longest
    retry schedule. Returns (outbox rows, receipts) deleted.
    """
    outbox, _ = OutboxMessage.objects.filter(
        state=State.DELIVERED, delivered_at__lt=older_than
    ).delete()
    receipts, _ = InboxReceipt.objects.filter(handled_at__lt=older_than).delete()
    return outbox, receipts


def backlog(*, now: datetime | None = None) -> Backlog:
    """Pending and dead counts and the age of the oldest pending row."""
    now = now or timezone.now()
    pending = OutboxMessage.objects.filter(state=State.PENDING).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    oldest = pending["oldest"]
    return Backlog(
        pending=pending["count"],
        dead=OutboxMessage.objects.filter(state=State.DEAD).count(),
        oldest_pending_age_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
    )
