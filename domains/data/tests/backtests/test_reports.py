"""Reports (HTML that opens offline, a valid PDF) made on the worker and stored locally or in
S3 (moto's standalone server on a free port), and the analytics endpoints."""

import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from domains.data.models import Report
from domains.data.selectors import candles_arrays
from domains.data.tests.backtests.conftest import BacktestWorker, bar, series_body
from dsta.kernel.jobs.api import JobStatus
from dsta.kernel.market import SeriesKey

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/v1/backtest/"
ANALYTICS = "/api/v1/analytics/"


@pytest.fixture
def local_reports(settings: Any, tmp_path: Path) -> Path:
    """Reports go to a folder of this test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "reports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    return tmp_path


def _finished_run(client: Any, key: SeriesKey, worker: BacktestWorker, **body: Any) -> Any:
    payload = {
        "strategy": "sma_crossover",
        "params": {"fast": 10, "slow": 30, "direction": "both"},
        "series": series_body(key),
        "end": bar(2000),
        **body,
    }
    started = client.post(BASE + "run", payload, format="json").json()
    assert worker.finish(started["job"]["id"]).status is JobStatus.SUCCEEDED
    return started


def _content(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_the_html_report_opens_offline_and_the_pdf_is_valid(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker, local_reports: Path
) -> None:
    run = _finished_run(analyst, eth_btc, backtest_worker)
    queued = analyst.get(run["report_url"], {"format": "html"})
    assert queued.status_code == 202
    assert queued.json()["status"] == "queued"
    assert backtest_worker.finish(queued.json()["job"]["id"]).status is JobStatus.SUCCEEDED

    served = analyst.get(run["report_url"], {"format": "html"})
    assert served.status_code == 200
    assert served["Content-Type"] == "text/html; charset=utf-8"
    html = _content(served).decode("utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # Opens offline: no URL of any kind, no script, no external stylesheet or image.
    assert not re.search(r"https?://", html)
    assert "<script" not in html
    assert "<link" not in html
    assert "src=" not in html
    for title in ("Equity", "Drawdown", "Monte Carlo fan", "ETH/BTC close with trades"):
        assert f"<title>{title}</title>" in html
    assert html.count("<svg") == 4
    assert "Monthly returns" in html
    assert "<th>Jan</th>" in html
    assert "Lookahead (truncation)" in html
    assert "passed" in html
    assert "<polygon" in html  # trade markers
    stored = Report.objects.get(pk=queued.json()["id"])
    assert (local_reports / stored.file_name).read_text(encoding="utf-8") == html

    pdf_job = analyst.get(run["report_url"], {"format": "pdf"}).json()
    backtest_worker.finish(pdf_job["job"]["id"])
    response = analyst.get(run["report_url"], {"format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    pdf = _content(response)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 5
    assert b"startxref" in pdf


def test_reports_of_unfinished_runs_and_bad_formats_are_refused(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker, local_reports: Path
) -> None:
    run = _finished_run(analyst, eth_btc, backtest_worker)
    bad = analyst.get(run["report_url"], {"format": "docx"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_input"
    broken = analyst.post(
        BASE + "run",
        {"strategy": "sma_crossover", "series": series_body(eth_btc), "params": {"fast": 99}},
        format="json",
    )
    assert broken.status_code == 400  # slow defaults to 50: refused at once, no run


def test_reports_generate_and_download_through_analytics(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker, local_reports: Path
) -> None:
    run = _finished_run(analyst, eth_btc, backtest_worker)
    queued = analyst.post(
        ANALYTICS + "reports/generate", {"run_id": run["id"], "format": "pdf"}, format="json"
    )
    assert queued.status_code == 202
    report = queued.json()
    waiting = analyst.get(report["download_url"])
    assert waiting.status_code in (200, 409)
    backtest_worker.finish(report["job"]["id"])
    detail = analyst.get(report["url"]).json()
    assert detail["status"] == "succeeded"
    assert detail["size"] > 1000
    assert len(detail["sha256"]) == 64
    downloaded = _content(analyst.get(report["download_url"]))
    assert downloaded.startswith(b"%PDF-")


@pytest.fixture
def moto_s3(settings: Any) -> Iterator[dict[str, Any]]:
    """moto's standalone S3 server on a free port, and the reports storage pointed at it."""
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket = f"dsta-reports-{uuid.uuid4().hex[:12]}"
    credentials = {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "region_name": "us-east-1",
    }
    client = boto3.client("s3", endpoint_url=endpoint, **credentials)
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "reports": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": endpoint,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "location": "reports",
                "default_acl": None,
            },
        },
    }
    try:
        yield {"client": client, "bucket": bucket, "endpoint": endpoint}
    finally:
        server.stop()


def test_reports_are_stored_in_s3_when_configured(
    analyst: Any, eth_btc: SeriesKey, backtest_worker: BacktestWorker, moto_s3: dict[str, Any]
) -> None:
    run = _finished_run(analyst, eth_btc, backtest_worker, end=bar(800))
    queued = analyst.get(run["report_url"], {"format": "html"}).json()
    assert backtest_worker.finish(queued["job"]["id"]).status is JobStatus.SUCCEEDED
    report = Report.objects.get(pk=queued["id"])
    key = f"reports/{report.file_name}"
    listed = moto_s3["client"].list_objects_v2(Bucket=moto_s3["bucket"])
    assert [item["Key"] for item in listed["Contents"]] == [key]
    body = moto_s3["client"].get_object(Bucket=moto_s3["bucket"], Key=key)["Body"].read()
    assert body.startswith(b"<!DOCTYPE html>")
    assert len(body) == report.size
    served = _content(analyst.get(run["report_url"], {"format": "html"}))
    assert served == body


def test_the_s3_server_really_listens(moto_s3: dict[str, Any]) -> None:
    """Guards the test above: the storage talks to a server over TCP, not to a mock."""
    host, port = moto_s3["endpoint"].removeprefix("http://").split(":")
    socket.create_connection((host, int(port)), timeout=2).close()


def test_analytics_performance_curves_sharpe_and_correlation(
    analyst: Any,
    eth_btc: SeriesKey,
    ada_btc: SeriesKey,
    backtest_worker: BacktestWorker,
) -> None:
    first = _finished_run(analyst, eth_btc, backtest_worker, end=bar(1000))
    second = _finished_run(
        analyst, eth_btc, backtest_worker, end=bar(1000), strategy="buy_and_hold", params={}
    )
    performance = analyst.get(ANALYTICS + "performance", {"run": [first["id"], second["id"]]})
    assert performance.status_code == 200
    rows = performance.json()["results"]
    assert [r["strategy"] for r in rows] == ["sma_crossover", "buy_and_hold"]
    assert rows[0]["start"] == "2018-01-10T04:55:00Z"
    assert "sharpe" in rows[0]["metrics"]

    curve = analyst.get(ANALYTICS + "equity-curve", {"run": first["id"], "max_points": 50}).json()
    assert curve["bars"] == 1000
    assert curve["downsampled"] is True
    assert len(curve["equity"]) <= 50
    assert len(curve["drawdown"]) <= 50

    sharpe = analyst.get(
        ANALYTICS + "sharpe", {"run": first["id"], "window": 100, "max_points": 20_000}
    ).json()
    values = np.array([np.nan if v is None else v for _, v in sharpe["sharpe"]])
    assert np.isnan(values[:99]).all()
    assert np.isfinite(values[99:]).any()
    assert sharpe["periods_per_year"] == 105_120
    too_wide = analyst.get(ANALYTICS + "sharpe", {"run": first["id"], "window": 5000})
    assert too_wide.status_code == 400

    runs = analyst.get(ANALYTICS + "correlation", {"run": [first["id"], second["id"]]}).json()
    assert runs["labels"] == [first["id"], second["id"]]
    assert runs["matrix"][0][0] == pytest.approx(1.0)
    assert -1.0 <= runs["matrix"][0][1] <= 1.0

    symbols = analyst.get(
        ANALYTICS + "correlation",
        {
            "venue": "binance",
            "timeframe": "5m",
            "symbol": ["ETH-BTC", "ADA-BTC"],
            "end": "2018-01-12T00:00:00Z",
        },
    ).json()
    a = candles_arrays(series=eth_btc, end=1_515_715_200_000)["close"]
    b = candles_arrays(series=ada_btc, end=1_515_715_200_000)["close"]
    expected = np.corrcoef(a[1:] / a[:-1] - 1, b[1:] / b[:-1] - 1)[0, 1]
    assert symbols["matrix"][0][1] == pytest.approx(expected, rel=1e-9)
    assert symbols["observations"] == a.size - 1

    neither = analyst.get(ANALYTICS + "correlation")
    assert neither.status_code == 400
    one = analyst.get(ANALYTICS + "correlation", {"run": [first["id"]]})
    assert one.status_code == 400
