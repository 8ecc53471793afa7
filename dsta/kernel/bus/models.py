"""The outbox (events waiting for delivery) and the inbox (events a subscriber has handled)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    """A durable event written in its publisher's transaction, delivered after commit."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        DELIVERED = "delivered", "delivered"
        DEAD = "dead", "dead letter"

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True)
    name = models.CharField(max_length=200)
    minor = models.PositiveIntegerField(default=0)
    payload = models.JSONField()
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    # Delivery attempts started (counted when a relay claims the row, so a message that
    # crashes its relay every time still reaches the dead-letter state).
    attempts = models.PositiveIntegerField(default=0)
    # When the row may next be claimed: a retry's backoff, or a running relay's lease.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The relay's scan: pending rows that are due, oldest first.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(state="pending"),
                name="bus_outbox_due_idx",
            ),
            models.Index(fields=["state", "created_at"], name="bus_outbox_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.event_id} ({self.state})"


class InboxReceipt(models.Model):
    """Proof that ``subscriber`` handled ``event_id``; written with the handler's effects."""

    id = models.BigAutoField(primary_key=True)
    subscriber = models.CharField(max_length=150)
    event_id = models.UUIDField()
    event_name = models.CharField(max_length=200)
    handled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "event_id"], name="bus_inbox_subscriber_event_uniq"
            )
        ]
        indexes = [models.Index(fields=["handled_at"], name="bus_inbox_handled_idx")]

    def __str__(self) -> str:
        return f"{self.subscriber} handled {self.event_id}"
