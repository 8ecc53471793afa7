"""Rows of the jobs app: tracked jobs, the scheduler lease and the fired periodic runs."""

import uuid

from django.db import models
from django.utils import timezone

from dsta.kernel.jobs.dto import JobStatus


class Job(models.Model):
    """One tracked run of a job kind: its state, progress, outcome and who runs it."""

    class Status(models.TextChoices):
        QUEUED = JobStatus.QUEUED.value, "queued"
        RUNNING = JobStatus.RUNNING.value, "running"
        SUCCEEDED = JobStatus.SUCCEEDED.value, "succeeded"
        FAILED = JobStatus.FAILED.value, "failed"
        CANCELLED = JobStatus.CANCELLED.value, "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=100, db_index=True)
    # The user who started it; an id, not a foreign key: users belong to the core domain.
    owner_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)  # 0..1
    done = models.BigIntegerField(default=0)
    total = models.BigIntegerField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)  # {"code", "message"}
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    worker_id = models.CharField(max_length=200, blank=True, default="")
    attempt = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner_id", "-created_at"], name="jobs_owner_created_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="jobs_status_heartbeat_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__gte=0.0, progress__lte=1.0),
                name="jobs_progress_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"


class SchedulerLease(models.Model):
    """Who may fire periodic runs right now: one row per scheduler name, taken by a
    conditional UPDATE so at most one scheduler process acts at a time."""

    name = models.CharField(max_length=100, primary_key=True)
    holder = models.CharField(max_length=200)
    expires_at = models.DateTimeField()
    acquired_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class ScheduledRun(models.Model):
    """One due time of one schedule that was fired. The unique (schedule, due_at) pair is what
    makes a due run fire once, even when the lease changes hands between two ticks."""

    schedule = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    # Set once the message is with the broker; a row left without it was interrupted mid-send.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    holder = models.CharField(max_length=200, blank=True, default="")
    job_id = models.UUIDField(null=True, blank=True)
    # Why the last send failed; such a row is sent again on a later tick (a row without
    # enqueued_at and without an error was interrupted mid-send and is not: it may have gone).
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-due_at"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "due_at"], name="jobs_run_once_per_due"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} @ {self.due_at:%Y-%m-%d %H:%M:%S}"
