"""What a job looks like from outside: frozen DTOs with no Django in them."""

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID


class JobStatus(enum.StrEnum):
    """Life cycle: queued -> running -> succeeded | failed | cancelled.

    A running job whose worker died goes back to queued (resumable kinds) or to failed.
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True for the three terminal states."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass(frozen=True)
class JobError:
    """Why a job failed: a stable ``code`` (a DstaError code, ``internal_error``,
    ``orphaned``...) and a message for people."""

    code: str
    message: str


@dataclass(frozen=True)
class JobInfo:
    """One job as callers see it (the API, the CLI, other domains)."""

    id: UUID
    kind: str
    owner_id: int | None
    status: JobStatus
    progress: float
    done: int
    total: int | None
    message: str
    params: dict[str, Any]
    result: Any
    error: JobError | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    cancel_requested: bool
    worker_id: str
    attempt: int

    @property
    def finished(self) -> bool:
        """True once the job reached succeeded, failed or cancelled."""
        return self.status.finished


@dataclass(frozen=True)
class RecoveryReport:
    """What :func:`recover_orphans` did, job ids per outcome."""

    failed: list[UUID] = field(default_factory=list)
    resumed: list[UUID] = field(default_factory=list)
    cancelled: list[UUID] = field(default_factory=list)
    requeued: list[UUID] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many jobs were touched."""
        return len(self.failed) + len(self.resumed) + len(self.cancelled) + len(self.requeued)
