"""The daily prune of the request/response log keeps recent rows and drops old ones."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from domains.exchange.models import ExchangeRequestLog
from domains.exchange.tasks import prune_request_log
from dsta.kernel.jobs.api import registered_schedules

pytestmark = pytest.mark.django_db


def log_row(age: timedelta) -> ExchangeRequestLog:
    row = ExchangeRequestLog.objects.create(venue="binance", method="GET", url="https://x/")
    # created_at is auto_now_add: age it after the insert.
    ExchangeRequestLog.objects.filter(pk=row.pk).update(created_at=timezone.now() - age)
    return row


def test_old_rows_go_and_recent_rows_stay(settings: Any) -> None:
    settings.EXCHANGE_REQUEST_LOG_RETENTION_DAYS = 7
    old = log_row(timedelta(days=8))
    recent = log_row(timedelta(days=6))

    assert prune_request_log.fn() == 1

    remaining = set(ExchangeRequestLog.objects.values_list("pk", flat=True))
    assert recent.pk in remaining
    assert old.pk not in remaining


def test_the_prune_runs_daily_from_the_scheduler() -> None:
    [entry] = [e for e in registered_schedules() if e.name == "exchange.request_log_prune"]
    assert entry.cron == "17 3 * * *"
