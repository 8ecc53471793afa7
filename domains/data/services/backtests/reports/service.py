"""Report jobs: render a run's report on a worker and store it through Django's storage API.

The storage is ``storages["reports"]`` (settings.STORAGES): a folder under ``var/`` by default,
an S3 or MinIO bucket (django-storages) when ``DSTA_REPORTS_S3_BUCKET`` is set. Files are named
``backtests/<run id>/<report id>.<format>``.
"""

import hashlib
from typing import Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils import timezone

from domains.data.models import BacktestRun, Report, ReportFormat, RunStatus
from domains.data.services.backtests.errors import NotFinished
from domains.data.services.backtests.reports.content import report_content
from domains.data.services.backtests.reports.html import render_html
from domains.data.services.backtests.reports.pdf import render_pdf
from dsta.kernel.errors import DstaError, InvalidInput
from dsta.kernel.jobs.api import start_job

REPORT_JOB_KIND = "data.backtest.report"
STORAGE_ALIAS = "reports"
CONTENT_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


def report_storage() -> Storage:
    """The storage reports are written to (looked up on each call: settings may change)."""
    return storages[STORAGE_ALIAS]


def check_format(fmt: str) -> str:
    """``html`` or ``pdf`` (400 otherwise)."""
    if fmt not in ReportFormat.values:
        raise InvalidInput(f"format must be one of {ReportFormat.values}", details={"format": fmt})
    return fmt


def report_start(*, run: BacktestRun, fmt: str, owner_id: int | None) -> Report:
    """Queue the rendering of ``run``'s report in ``fmt``."""
    check_format(fmt)
    if run.status != RunStatus.SUCCEEDED:
        raise NotFinished(
            f"backtest {run.id} has not succeeded (status {run.status}): nothing to report",
            details={"status": run.status},
        )
    with transaction.atomic():
        report = Report.objects.create(owner_id=owner_id, run=run, format=fmt)
        info = start_job(REPORT_JOB_KIND, params={"report_id": str(report.id)}, owner_id=owner_id)
        Report.objects.filter(pk=report.pk).update(job_id=info.id)
        report.job_id = info.id
    return report


def latest_report(run: BacktestRun, fmt: str) -> Report | None:
    """The newest report of ``run`` in ``fmt`` that is ready or still being made."""
    usable = [RunStatus.SUCCEEDED, RunStatus.QUEUED, RunStatus.RUNNING]
    reports = Report.objects.filter(run=run, format=fmt, status__in=usable)
    return reports.order_by("-created_at").first()


def render_report(run: BacktestRun, fmt: str) -> bytes:
    """The report's bytes (what the job stores; the command line writes them to a file)."""
    content = report_content(run)
    if fmt == ReportFormat.PDF:
        return render_pdf(content)
    return render_html(content).encode("utf-8")


def report_execute(*, report_id: str) -> dict[str, Any]:
    """The job's body: render, store, record name, size and sha256 (errors stored too)."""
    report = Report.objects.select_related("run").get(pk=report_id)
    Report.objects.filter(pk=report.pk).update(status=RunStatus.RUNNING)
    try:
        payload = render_report(report.run, report.format)
        name = report_storage().save(
            f"backtests/{report.run_id}/{report.id}.{report.format}", ContentFile(payload)
        )
    except DstaError as error:
        _fail(report, error.code, error.message)
        raise
    except Exception as error:
        _fail(report, "internal_error", f"{type(error).__name__}: {error}")
        raise
    digest = hashlib.sha256(payload).hexdigest()
    Report.objects.filter(pk=report.pk).update(
        status=RunStatus.SUCCEEDED,
        file_name=name,
        size=len(payload),
        sha256=digest,
        finished_at=timezone.now(),
    )
    return {"report_id": str(report.id), "file": name, "size": len(payload), "sha256": digest}


def _fail(report: Report, code: str, message: str) -> None:
    Report.objects.filter(pk=report.pk).update(
        status=RunStatus.FAILED,
        error={"code": code, "message": message},
        finished_at=timezone.now(),
    )


def report_open(report: Report) -> File:
    """The stored file, opened for reading (``not_finished`` while it is being made)."""
    if report.status != RunStatus.SUCCEEDED or not report.file_name:
        raise NotFinished(
            f"report {report.id} is not ready (status {report.status})",
            details={"status": report.status, "job_id": str(report.job_id)},
        )
    return report_storage().open(report.file_name, "rb")
