"""The commands: run_worker refuses the in-process broker, run_scheduler ticks, serve runs
everything in one process and stops cleanly on SIGTERM."""

import io
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from dsta.kernel.jobs.management.commands.serve import unapplied_migrations
from dsta.kernel.jobs.models import Job

REPO = Path(settings.BASE_DIR)


@pytest.mark.skipif(settings.BROKER_KIND != "inprocess", reason="BROKER_URL is set")
def test_run_worker_refuses_the_in_process_broker():
    with pytest.raises(CommandError, match="inprocess"):
        call_command("run_worker")


@pytest.mark.django_db(transaction=True)
def test_run_scheduler_once():
    out = io.StringIO()
    call_command("run_scheduler", "--once", stdout=out)
    assert "fired" in out.getvalue()


@pytest.mark.django_db
def test_the_test_database_has_no_unapplied_migrations():
    assert unapplied_migrations() == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.mark.django_db(transaction=True)
def test_serve_recovers_orphans_serves_http_and_stops_on_sigterm():
    orphan = Job.objects.create(
        kind="gone.kind",
        status=Job.Status.RUNNING,
        worker_id="crashed-host:1",
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "BROKER_URL": "",
        "LOG_FORMAT": "text",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port), "--no-relay"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        response = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/jobs/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)  # the server is still starting
        assert response is not None, "serve did not start"
        assert response.status_code in (401, 403)
        assert response.json()["error"]["code"] in ("unauthenticated", "forbidden")
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "stopped" in output
    # The domains' background loops ran beside the server and ended with it.
    assert "background loop started: exchange.account_streams" in output
    orphan.refresh_from_db()
    assert orphan.status == Job.Status.FAILED
    assert isinstance(orphan.error, dict)
    assert orphan.error["code"] == "orphaned"
