"""The image's web command, run for real: uvicorn serving dsta.asgi with the JSON log config."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]
LOG_CONFIG = REPO_ROOT / "dsta" / "kernel" / "ops" / "uvicorn-logging.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@pytest.fixture
def server(tmp_path: Path) -> Any:
    """uvicorn as the Dockerfile's CMD starts it, on a free local port."""
    port = _free_port()
    env = {
        **os.environ,
        "DSTA_VAR_DIR": str(tmp_path),
        # Embedded mode: this test is about the command and its logs, not the servers.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "REDIS_URL": "",
        "BROKER_URL": "",
        "BUS_URL": "",
        "DEBUG": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "dsta.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-config",
            str(LOG_CONFIG),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.communicate(timeout=10)[0]
                pytest.fail(f"uvicorn did not start:\n{output}")
            time.sleep(0.1)
    handle = {"base": base, "process": process}
    yield handle
    if process.poll() is None:
        process.kill()
        process.communicate(timeout=10)


def _stop(process: subprocess.Popen[str]) -> list[str]:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    return [line for line in output.splitlines() if line.strip()]


def test_uvicorn_serves_probes_and_logs_only_json(server: dict[str, Any]) -> None:
    base = server["base"]

    health = _get(f"{base}/healthz", {"X-Request-ID": "probe-1"})
    ready = _get(f"{base}/readyz")
    missing = _get(f"{base}/api/v1/nowhere/", {"X-Request-ID": "lost-1"})
    lines = _stop(server["process"])

    assert health[0] == 200
    assert health[2] == {"status": "ok"}
    assert health[1]["x-request-id"] == "probe-1"
    assert ready[0] == 200, ready[2]
    assert ready[2]["checks"]["database"]["status"] == "ok"
    assert missing[0] == 404
    assert missing[2]["error"]["code"] == "not_found"
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a log line is not JSON: {line!r}")
    loggers = {record["logger"] for record in records}
    assert "uvicorn.access" in loggers
    (not_found,) = [r for r in records if r["logger"] == "django.request"]
    assert not_found["request_id"] == "lost-1"
    assert any("GET /healthz" in r["message"] for r in records if r["logger"] == "uvicorn.access")
