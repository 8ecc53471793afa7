"""dramatiq actors of the exchange domain: housekeeping of the request/response log."""

from datetime import timedelta

import dramatiq
from django.conf import settings

from domains.exchange.services.request_log import request_log_prune
from dsta.kernel.jobs.api import periodic

# Two weeks covers a reconciliation dispute with a venue; older rows only cost disk.
DEFAULT_REQUEST_LOG_RETENTION_DAYS = 14


@periodic("17 3 * * *", name="exchange.request_log_prune")
@dramatiq.actor(actor_name="exchange.prune_request_log", max_retries=3, time_limit=10 * 60_000)
def prune_request_log() -> int:
    """Delete request-log rows older than EXCHANGE_REQUEST_LOG_RETENTION_DAYS (daily)."""
    days = getattr(
        settings, "EXCHANGE_REQUEST_LOG_RETENTION_DAYS", DEFAULT_REQUEST_LOG_RETENTION_DAYS
    )
    return request_log_prune(older_than=timedelta(days=days))
