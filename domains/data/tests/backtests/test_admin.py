"""Admin pages of runs (status, metrics), results and reports (with a link to the file)."""

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from domains.data.models import BacktestResult, BacktestRun, Report
from domains.data.services.backtests.reports.service import report_execute
from domains.data.tests.backtests.conftest import bar
from dsta.kernel.market import SeriesKey

pytestmark = pytest.mark.django_db


def test_admin_lists_runs_results_and_reports(
    eth_btc: SeriesKey, admin_client: Client, settings: Any, tmp_path: Path
) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "reports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    call_command(
        "backtest", "--strategy", "sma_crossover", "--venue", "binance", "--symbol", "ETH/BTC",
        "--timeframe", "5m", "--end", str(bar(600)), "--no-progress", stdout=None,
    )  # fmt: skip
    run = BacktestRun.objects.get()
    report = Report.objects.create(run=run, format="html")
    report_execute(report_id=str(report.id))
    report.refresh_from_db()

    listing = admin_client.get("/admin/data/backtestrun/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "sma_crossover" in page
    assert "ETH/BTC" in page
    assert "succeeded" in page
    assert f"{run.metrics['total_return'] * 100:.2f}%" in page
    detail = admin_client.get(f"/admin/data/backtestrun/{run.pk}/change/").content.decode()
    assert f"/api/v1/analytics/reports/{report.id}?download=true" in detail
    result = BacktestResult.objects.get(run=run)
    assert admin_client.get(f"/admin/data/backtestresult/{result.pk}/change/").status_code == 200
    reports = admin_client.get("/admin/data/report/").content.decode()
    assert f"/api/v1/analytics/reports/{report.id}?download=true" in reports
    download = admin_client.get(f"/api/v1/analytics/reports/{report.id}?download=true")
    assert download.status_code == 200
    body = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert body.startswith(b"<!DOCTYPE html>")
    for page_url in ("/admin/data/backtesttrade/", "/admin/data/optimization/",
                     "/admin/data/walkforward/", "/admin/data/montecarlo/"):  # fmt: skip
        assert admin_client.get(page_url).status_code == 200
    assert admin_client.get("/admin/data/backtestrun/add/").status_code == 403
