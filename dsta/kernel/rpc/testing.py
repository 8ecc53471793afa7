"""pytest fixtures to run an api's contract suite against the local and the remote binding.

Use as a plugin (``pytest_plugins = ["dsta.kernel.rpc.testing"]`` in the root conftest) or
import the fixtures into a conftest. A suite is written once and parametrized::

    @pytest.fixture(params=["local", "remote"])
    def config(request, rpc_binding):
        return rpc_binding(ConfigApi, request.param)

The remote binding talks over real HTTP to a second process (``uvicorn dsta.asgi:application``)
that uses the same test database; tests whose api touches the database therefore need
``@pytest.mark.django_db(transaction=True)`` so both processes see committed rows.
"""

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings

from dsta.kernel import rpc
from dsta.kernel.rpc.registry import EXTRA_MODULES_ENV

T = TypeVar("T")
BINDINGS = ("local", "remote")
# Use as fixture params: the remote binding carries the "remote" marker (-m "not remote").
BINDING_PARAMS = [pytest.param("local"), pytest.param("remote", marks=pytest.mark.remote)]
_HOST = "127.0.0.1"
# No lifespan: channels' router does not speak it. Warnings only: the log is for failures.
# A short graceful shutdown: a test may leave a deliberately slow call running.
_UVICORN = (
    "-m uvicorn dsta.asgi:application --lifespan off --no-access-log --log-level warning"
    " --timeout-graceful-shutdown 1"
)


@dataclass(frozen=True)
class LiveServer:
    """A child process serving this codebase over HTTP; ``token`` is "" when the rpc is off."""

    url: str
    token: str
    process: "subprocess.Popen[bytes]"
    log_path: Path

    def log_tail(self, characters: int = 4000) -> str:
        """The end of the child's combined stdout/stderr, for failure messages."""
        return self.log_path.read_text(errors="replace")[-characters:]


def current_database_url() -> str:
    """A DATABASE_URL naming the database this process uses now (the test database in tests)."""
    from django.db import connection

    options = connection.settings_dict
    engine, name = options["ENGINE"], str(options["NAME"])
    if engine.endswith("sqlite3"):
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError("an in-memory SQLite database cannot be shared with a child")
        return f"sqlite:///{Path(name).resolve()}"
    if "postgresql" in engine:
        user, password = options.get("USER") or "", options.get("PASSWORD") or ""
        auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
        host = quote(options.get("HOST") or "localhost", safe="")
        port = f":{options['PORT']}" if options.get("PORT") else ""
        return f"postgres://{auth}{'@' if auth else ''}{host}{port}/{quote(name, safe='')}"
    raise RuntimeError(f"cannot hand the {engine} database to a child process")


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket() as probe:
        probe.bind((_HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def live_server_process_running(
    *,
    database_url: str,
    token: str,
    extra_modules: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    log_dir: Path | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[LiveServer]:
    """Run ``uvicorn dsta.asgi:application`` on a free port until the block ends.

    The child gets ``DATABASE_URL=database_url``, ``DSTA_SERVICE_TOKEN=token`` (no token: the
    rpc endpoint is off), imports ``extra_modules`` before its first rpc call, and never calls
    other processes (``DSTA_REMOTE_*_URL`` are dropped). Ready once its port accepts a TCP
    connection; killed afterwards.
    """
    child_env = {
        key: value
        for key, value in os.environ.items()
        if not (key.startswith("DSTA_REMOTE_") and key.endswith("_URL"))
    }
    child_env.pop("DSTA_SERVICE_TOKEN", None)
    child_env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "dsta.settings"),
        PYTHONUNBUFFERED="1",
        **{EXTRA_MODULES_ENV: ",".join(extra_modules)},
        **({"DSTA_SERVICE_TOKEN": token} if token else {}),
        **(env or {}),
    )
    log_dir = log_dir or Path(django_settings.VAR_DIR)
    for _attempt in range(3):  # another process may grab the free port before the child
        port = free_port()
        log_path = log_dir / f"rpc-child-{os.getpid()}-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 (our own interpreter and fixed arguments)
                [sys.executable, *_UVICORN.split(), "--host", _HOST, "--port", str(port)],
                cwd=str(django_settings.BASE_DIR),
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = LiveServer(f"http://{_HOST}:{port}", token, process, log_path)
        try:
            if _wait_until_listening(server, port, startup_timeout):
                break
        except BaseException:
            _stop(process)
            raise
        log_path.unlink(missing_ok=True)
    else:
        raise RuntimeError("the rpc child process could not bind a free port three times")
    try:
        yield server
    finally:
        _stop(process)
        log_path.unlink(missing_ok=True)


def _wait_until_listening(server: LiveServer, port: int, timeout: float) -> bool:
    """True once the port answers; False when the child lost the port race; else raises."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log_tail()
            if "address already in use" in tail.lower():
                return False
            raise RuntimeError(f"the rpc child process exited at startup:\n{tail}")
        try:
            with socket.create_connection((_HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    tail = server.log_tail()
    raise RuntimeError(f"the rpc child process did not listen within {timeout}s:\n{tail}")


def _stop(process: "subprocess.Popen[bytes]") -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class LiveServerPool:
    """Child processes started on demand and shared for a whole test session.

    One child per distinct (extra modules, rpc on/off) pair, so tests that need different
    test-only services or an endpoint that is off each get a matching process.
    """

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._servers: dict[tuple[tuple[str, ...], bool], LiveServer] = {}
        self._stack = ExitStack()

    def get(self, *, extra_modules: Sequence[str] = (), rpc_on: bool = True) -> LiveServer:
        """The running child for this configuration, started on first use."""
        key = (tuple(extra_modules), rpc_on)
        if key not in self._servers:
            token = secrets.token_urlsafe(24) if rpc_on else ""
            self._servers[key] = self._stack.enter_context(
                live_server_process_running(
                    database_url=self.database_url, token=token, extra_modules=key[0]
                )
            )
        return self._servers[key]

    def close(self) -> None:
        """Stop every child."""
        self._servers.clear()
        self._stack.close()


def use_remote(settings: Any, server: LiveServer, *domains: str) -> None:
    """Point ``domains`` at ``server`` on pytest-django's ``settings`` fixture; clear clients."""
    settings.DSTA_REMOTE_SERVICES = {
        **settings.DSTA_REMOTE_SERVICES,
        **dict.fromkeys(domains, server.url),
    }
    settings.DSTA_SERVICE_TOKEN = server.token
    rpc.clear_client_cache()


def use_local(settings: Any, *domains: str) -> None:
    """Serve ``domains`` in-process again; clear clients."""
    settings.DSTA_REMOTE_SERVICES = {
        domain: url
        for domain, url in settings.DSTA_REMOTE_SERVICES.items()
        if domain not in domains
    }
    rpc.clear_client_cache()


class RpcBinder(Protocol):
    """The ``rpc_binding`` fixture: ``rpc_binding(ConfigApi, "remote")`` -> a ConfigApi."""

    def __call__(self, api: Callable[..., T], binding: str) -> T: ...


@pytest.fixture(scope="session")
def rpc_server_pool(django_db_setup: None) -> Iterator[LiveServerPool]:
    """The session's pool of child processes, all on the session's test database."""
    pool = LiveServerPool(current_database_url())
    yield pool
    pool.close()  # before django_db_setup drops the test database the children use


@pytest.fixture
def rpc_extra_modules() -> tuple[str, ...]:
    """Modules the child imports to register test-only services; override in a conftest."""
    return ()


@pytest.fixture
def live_server_process(
    rpc_server_pool: LiveServerPool, rpc_extra_modules: tuple[str, ...]
) -> LiveServer:
    """A child process serving the rpc endpoint with a session-random service token."""
    return rpc_server_pool.get(extra_modules=rpc_extra_modules)


@pytest.fixture
def rpc_binding(request: pytest.FixtureRequest, settings: Any) -> Iterator[RpcBinder]:
    """``rpc_binding(Api, "local" | "remote")`` resolves ``Api`` through that binding.

    "remote" starts (or reuses) ``live_server_process`` and points the api's domain at it for
    this test; settings and the client cache are restored afterwards.
    """

    def bind(api: Callable[..., T], binding: str) -> T:
        domain = rpc.spec_of(api).domain
        if binding == "local":
            use_local(settings, domain)
        elif binding == "remote":
            _require_committed_data(request)
            use_remote(settings, request.getfixturevalue("live_server_process"), domain)
        else:
            raise ValueError(f"binding must be one of {BINDINGS}, not {binding!r}")
        return rpc.resolve(api)

    yield bind
    rpc.clear_client_cache()


def _require_committed_data(request: pytest.FixtureRequest) -> None:
    # The child sees only committed rows: with a plain django_db test the two bindings would
    # see different data, and on SQLite the child would wait on the test's write lock.
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    transaction = marker.kwargs.get("transaction", marker.args[0] if marker.args else False)
    if not transaction:
        pytest.fail(
            "the remote rpc binding needs @pytest.mark.django_db(transaction=True): the "
            "child process only sees committed rows"
        )
