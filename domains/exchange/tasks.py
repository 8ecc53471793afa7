"""dramatiq actors of the exchange domain: housekeeping of the request/response log, and the
reconciliation of live orders."""

import logging
from datetime import timedelta

import dramatiq
from django.conf import settings

from domains.exchange.services.orders.reconciler import reconcile_all
from domains.exchange.services.request_log import request_log_prune
from dsta.kernel.jobs.api import periodic

logger = logging.getLogger(__name__)

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


@periodic("* * * * *", name="exchange.reconcile_orders")
@dramatiq.actor(actor_name="exchange.reconcile_orders", max_retries=0, time_limit=4 * 60_000)
def reconcile_orders() -> None:
    """Resolve live orders of unknown outcome and catch missed fills (every minute).

    No retries: the next minute's run is the retry. Runs that overlap (a slow one and the
    next) claim orders one at a time, so no order is looked up by both (``reconciler.py``).
    """
    report = reconcile_all()
    if report.orders or report.venue_failures:
        logger.info("live orders reconciled: %s", report.summary())
