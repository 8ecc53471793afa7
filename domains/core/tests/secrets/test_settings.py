"""Production refuses to start without DSTA_SECRETS_KEYS; local mode generates one key."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

PRINT_KEYS = "import dsta.settings as s; print(len(s.DSTA_SECRETS_KEYS))"


def run_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DSTA_", "SECRET_KEY"))}
    return subprocess.run(
        [sys.executable, "-c", PRINT_KEYS],
        cwd=settings.BASE_DIR,
        env={**base, "DSTA_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_without_secrets_keys_is_a_startup_error(tmp_path: Path) -> None:
    production = {"DSTA_ENV": "production", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "h"}
    refused = run_settings(tmp_path, **production)
    assert refused.returncode != 0
    assert "DSTA_SECRETS_KEYS must be set" in refused.stderr
    assert not (tmp_path / "secrets_keys").exists()
    accepted = run_settings(tmp_path, **production, DSTA_SECRETS_KEYS="k1,k2")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.strip() == "2"


def test_local_mode_generates_one_key_and_keeps_it(tmp_path: Path) -> None:
    assert run_settings(tmp_path, DSTA_ENV="local").stdout.strip() == "1"
    key_file = tmp_path / "secrets_keys"
    first = key_file.read_text()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    run_settings(tmp_path, DSTA_ENV="local")
    assert key_file.read_text() == first
