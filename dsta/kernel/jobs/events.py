"""Events the jobs kernel publishes: a job reached a final state.

Domains subscribe to tell people (core notifies the job's owner) or to chain work. Published
in the same transaction as the status change, so a job is never announced twice nor missed.
"""

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from dsta.kernel.bus import Event


class JobFinished(Event):
    """A background job succeeded, failed or was cancelled."""

    name: ClassVar[str] = "dsta.jobs.job.finished.v1"
    minor: ClassVar[int] = 0

    job_id: UUID = Field(description="The job's id (GET /api/v1/jobs/{id}/).")
    kind: str = Field(description="What ran, e.g. 'data.ingest' or 'data.backtest'.")
    owner_id: int | None = Field(description="The user who started it; None for system jobs.")
    status: str = Field(description="succeeded, failed or cancelled.")
    error_code: str | None = Field(default=None, description="Set when the job failed.")
    error_message: str | None = Field(default=None, description="Set when the job failed.")
