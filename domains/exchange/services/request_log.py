"""The request/response log of venue calls (``ExchangeRequestLog``), secrets redacted.

Each row is written after its request, in a savepoint of its own: a failing log write is
logged and dropped, never allowed to fail (or roll back) the trade it describes.
"""

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from uuid import UUID

from django.db import DatabaseError, transaction
from django.utils import timezone

from domains.exchange.adapters.ccxt_hooks import ExchangeRecord, OutgoingRequest
from domains.exchange.adapters.redaction import (
    redact_body,
    redact_headers,
    redact_text,
    redact_url,
)
from domains.exchange.models import ExchangeRequestLog

logger = logging.getLogger(__name__)
BODY_MAX = 4000


def request_log_write(
    *,
    request: OutgoingRequest,
    record: ExchangeRecord,
    account_id: UUID | None,
    secrets: Iterable[str] = (),
    costs: Mapping[str, float] | None = None,
    error: BaseException | None = None,
) -> ExchangeRequestLog | None:
    """Store one request and its response with every secret masked (see ``redaction``)."""
    literals = [s for s in secrets if s]
    try:
        with transaction.atomic():
            return ExchangeRequestLog.objects.create(
                venue=request.venue,
                account_id=account_id,
                method=record.method[:8],
                url=redact_url(record.url, literals),
                endpoint=f"{request.api} {request.method} {request.path}".strip()[:120],
                request_headers=redact_headers(record.request_headers, literals),
                request_body=redact_body(record.request_body, literals)[:BODY_MAX],
                status=record.status,
                response_headers=redact_headers(record.response_headers, literals),
                response_body=redact_body(record.response_body, literals)[:BODY_MAX],
                error=(
                    redact_text(f"{type(error).__name__}: {error}", literals)[:300]
                    if error is not None
                    else ""
                ),
                latency_ms=round(record.latency * 1000, 3),
                cost=dict(costs or {}),
            )
    except DatabaseError:
        logger.warning("exchange request log write failed", exc_info=True)
        return None


def request_log_prune(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete log rows older than ``older_than``; the number deleted."""
    cutoff = (now or timezone.now()) - older_than
    deleted, _ = ExchangeRequestLog.objects.filter(created_at__lt=cutoff).delete()
    return deleted
