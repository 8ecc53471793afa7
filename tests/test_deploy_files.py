"""The deploy files pass their linters and say what the architecture needs.

No Docker engine runs here, so the files are checked the way a reviewer would: hadolint for the
Dockerfile, actionlint and the GitHub workflow schema for CI, the compose-spec schema for
docker-compose.yml (both schemas ship inside check-jsonschema: no download at test time), and
assertions on what each file wires up. Each linter is also shown a broken copy, so a linter
that silently checks nothing fails here.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import get_commands

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO_ROOT / "Dockerfile"
COMPOSE = REPO_ROOT / "docker-compose.yml"
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
APP_SERVICES = ("migrate", "web", "worker", "scheduler", "relay", "consumer", "account-streams")
INFRA_SERVICES = ("postgres", "redis", "rabbitmq")


def tool(name: str) -> str:
    """The dev extra's binary ``name`` (installed next to this interpreter)."""
    sibling = Path(sys.executable).with_name(name)
    found = str(sibling) if sibling.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[dev]'"
    return found


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# --- Dockerfile ---------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    result = run(tool("hadolint"), "--no-color", str(DOCKERFILE))

    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_reports_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")

    result = run(tool("hadolint"), "--no-color", str(bad))

    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag
    assert "DL3008" in result.stdout  # unpinned apt package


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    logical = re.sub(r"\\\n", " ", text)
    result = []
    for line in logical.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_dockerfile_builds_a_wheel_then_runs_it_as_a_non_root_user() -> None:
    instructions = _instructions(DOCKERFILE.read_text())
    stages = [args for keyword, args in instructions if keyword == "FROM"]
    assert len(stages) == 2, stages
    assert stages[0].endswith("AS builder"), stages
    assert "python:3.11-slim" in DOCKERFILE.read_text()
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "pip wheel" in runs
    assert "/opt/venv" in runs
    runtime = instructions[[k for k, _ in instructions].index("FROM", 1) :]
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in runtime
    users = [args for keyword, args in runtime if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    (healthcheck,) = [args for keyword, args in runtime if keyword == "HEALTHCHECK"]
    assert "/healthz" in healthcheck
    (command,) = [args for keyword, args in runtime if keyword == "CMD"]
    assert '"uvicorn", "dsta.asgi:application"' in command
    # Files the image copies from the build context exist (and are not ignored).
    for keyword, args in runtime:
        if keyword == "COPY" and not args.startswith("--from"):
            assert (REPO_ROOT / args.split()[0]).exists(), args


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = {
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }

    assert {".git", ".venv", ".env", "var"} <= ignored
    # What the Dockerfile copies must not be ignored.
    assert not {"dsta", "domains", "pyproject.toml", "manage.py", "README.md"} & ignored


# --- docker-compose.yml -------------------------------------------------------------------


def test_compose_file_matches_the_compose_spec() -> None:
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE))

    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_spec_check_rejects_a_broken_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE.read_text().replace(
            "condition: service_healthy", "condition: when_it_feels_like_it", 1
        )
    )

    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken))

    assert result.returncode != 0


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COMPOSE)
    return loaded


def test_compose_runs_every_dsta_process_and_its_servers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {*APP_SERVICES, *INFRA_SERVICES}
    commands = {name: services[name].get("command") for name in APP_SERVICES}
    assert commands["web"] is None  # the image's CMD: uvicorn dsta.asgi:application
    assert commands["migrate"] == ["python", "manage.py", "migrate", "--noinput"]
    assert commands["worker"] == ["python", "manage.py", "run_worker"]
    assert commands["scheduler"] == ["python", "manage.py", "run_scheduler"]
    assert commands["relay"] == ["python", "manage.py", "run_relay"]
    assert commands["consumer"] == ["python", "manage.py", "consume_events"]
    assert commands["account-streams"] == [
        "python",
        "manage.py",
        "exchange_account_stream",
        "--all",
    ]
    assert services["postgres"]["image"].startswith("timescale/timescaledb:")
    assert services["postgres"]["image"].endswith("-pg16")
    assert "management" in services["rabbitmq"]["image"]
    assert services["redis"]["image"].startswith("redis:")


def test_compose_commands_exist_as_management_commands(compose: dict[str, Any]) -> None:
    known = get_commands()
    for name in APP_SERVICES:
        command = compose["services"][name].get("command")
        if command:
            assert command[:2] == ["python", "manage.py"]
            assert command[2] in known, f"{name}: no manage.py {command[2]}"


def test_compose_waits_for_healthy_servers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in INFRA_SERVICES:
        assert services[name]["healthcheck"]["test"], name
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        for server in INFRA_SERVICES:
            assert depends_on[server] == {"condition": "service_healthy"}, (name, server)
        if name != "migrate":
            assert depends_on["migrate"] == {"condition": "service_completed_successfully"}
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    for name in ("migrate", "worker", "scheduler", "relay", "consumer"):
        assert services[name]["healthcheck"] == {"disable": True}, name


def test_compose_wires_production_settings(compose: dict[str, Any]) -> None:
    settings_source = (REPO_ROOT / "dsta" / "settings.py").read_text()
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert environment["DSTA_ENV"] == "production"
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["DATABASE_URL"].endswith("@postgres:5432/dsta")
        assert environment["REDIS_URL"].startswith("redis://redis:6379")
        assert environment["BROKER_URL"].startswith("amqp://")
        assert environment["BUS_URL"].startswith("amqp://")
        assert "@rabbitmq:5672" in environment["BROKER_URL"]
        # Secrets come from the environment or stop the stack: never a default.
        assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")
        for variable in environment:
            assert f'"{variable}"' in settings_source, f"settings.py never reads {variable}"


# --- GitHub Actions workflow --------------------------------------------------------------


def test_workflow_passes_actionlint() -> None:
    result = run(tool("actionlint"), "-no-color", str(WORKFLOW))

    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs-on: [", 1))

    result = run(tool("actionlint"), "-no-color", str(broken))

    assert result.returncode != 0


def test_workflow_matches_the_github_workflow_schema(tmp_path: Path) -> None:
    checker = tool("check-jsonschema")
    good = run(checker, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW))
    broken = tmp_path / "ci.yml"
    broken.write_text(WORKFLOW.read_text().replace("timeout-minutes: 90", "timeout-minutes: soon"))
    bad = run(checker, "--builtin-schema", "vendor.github-workflows", str(broken))

    assert good.returncode == 0, good.stdout + good.stderr
    assert bad.returncode != 0


def test_workflow_runs_ci_script_beside_real_servers() -> None:
    workflow = load_yaml(WORKFLOW)
    (job,) = workflow["jobs"].values()

    assert set(job["services"]) == set(INFRA_SERVICES)
    ports = {name: service["ports"] for name, service in job["services"].items()}
    assert ports == {"postgres": ["5432:5432"], "redis": ["6379:6379"], "rabbitmq": ["5672:5672"]}
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs == ["bash .ci/run"]
    assert (REPO_ROOT / ".ci" / "run").exists()
