"""The wire itself, against a real second process: tokens, routing, bad input, failures."""

import json
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from dsta.kernel import rpc
from dsta.kernel.errors import PayloadTooLarge
from dsta.kernel.rpc.client import RPC_MARKER_HEADER
from dsta.kernel.rpc.testing import LiveServer, LiveServerPool, use_remote
from dsta.kernel.rpc.tests.conftest import SAMPLE_MODULES
from dsta.kernel.rpc.tests.sample_api import Fee, Fill, FillsApi, Side

pytestmark = pytest.mark.remote

FILLS = "internal/rpc/rpcsample.fills"


def post(server: LiveServer, path: str, body: Any = None, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
    return httpx.post(f"{server.url}/{path}", content=content, headers=headers, timeout=10)


def authorized(server: LiveServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


@pytest.fixture
def remote_fills(live_server_process: LiveServer, settings: Any) -> Iterator[FillsApi]:
    use_remote(settings, live_server_process, "rpcsample")
    yield rpc.resolve(FillsApi)
    rpc.clear_client_cache()


def test_a_call_with_the_token_answers_the_result(live_server_process: LiveServer) -> None:
    response = post(
        live_server_process, f"{FILLS}/sides", {"side": "buy"}, **authorized(live_server_process)
    )

    assert response.status_code == 200
    assert response.json() == {"result": ["buy"]}
    assert response.headers[RPC_MARKER_HEADER] == "1"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-the-token", "Basic dXNlcjpwYXNz", "not-the-token"],
)
def test_a_call_without_the_right_token_is_refused(
    live_server_process: LiveServer, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = post(live_server_process, f"{FILLS}/sides", {}, **headers)

    assert response.status_code == 401
    assert error_of(response)["code"] == "rpc_bad_service_token"


def test_a_client_with_the_wrong_token_raises_bad_service_token(
    remote_fills: FillsApi, settings: Any
) -> None:
    settings.DSTA_SERVICE_TOKEN = "not-the-token"

    with pytest.raises(rpc.BadServiceToken):
        remote_fills.sides()


@pytest.mark.parametrize(
    "path",
    [
        "internal/rpc/rpcsample.nope/sides",
        "internal/rpc/no_dot/sides",
        f"{FILLS}/nope",
        f"{FILLS}/_calls",  # a private attribute of the implementation
        f"{FILLS}/__init__",
        f"{FILLS}/not_in_the_protocol",  # public on the implementation, not declared
    ],
)
def test_only_declared_methods_are_callable(live_server_process: LiveServer, path: str) -> None:
    response = post(live_server_process, path, {}, **authorized(live_server_process))

    assert response.status_code == 404
    assert error_of(response)["code"] == "rpc_unknown_method"


@pytest.mark.parametrize(
    ("body", "error_type", "loc"),
    [
        ({}, "missing", ["symbol"]),
        ({"symbol": "BTC/USDT", "mid": "1", "leverage": 5}, "extra_forbidden", ["leverage"]),
        ({"symbol": 5, "mid": "1"}, "string_type", ["symbol"]),
        ({"symbol": "BTC/USDT", "mid": "a lot"}, "decimal_parsing", ["mid"]),
        (b"{not json", "json_invalid", []),
        (b"[1, 2]", "dict_type", []),
    ],
)
def test_bad_arguments_answer_400_with_pydantic_details(
    live_server_process: LiveServer, body: Any, error_type: str, loc: list[str]
) -> None:
    response = post(live_server_process, f"{FILLS}/quote", body, **authorized(live_server_process))

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "rpc_bad_arguments"
    assert {"type": error_type, "loc": loc} in [
        {"type": d["type"], "loc": d["loc"]} for d in error["details"]
    ]


def test_only_post_is_served(live_server_process: LiveServer) -> None:
    response = httpx.get(
        f"{live_server_process.url}/{FILLS}/sides", headers=authorized(live_server_process)
    )

    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


def test_an_unexpected_exception_is_a_500_and_an_rpc_error_for_the_caller(
    live_server_process: LiveServer, remote_fills: FillsApi
) -> None:
    response = post(live_server_process, f"{FILLS}/crash", {}, **authorized(live_server_process))
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal_error"

    with pytest.raises(rpc.RpcError) as raised:
        remote_fills.crash()
    assert raised.value.code == "rpc_error"
    assert raised.value.details["code"] == "internal_error"
    assert remote_fills.sides() == [Side.BUY, Side.SELL]  # the process still serves


def test_a_result_that_breaks_the_contract_is_a_server_error(
    live_server_process: LiveServer,
) -> None:
    response = post(live_server_process, f"{FILLS}/miscount", {}, **authorized(live_server_process))

    assert response.status_code == 500
    assert error_of(response)["code"] == "internal_error"


def test_arguments_over_the_remote_body_limit_raise_payload_too_large(
    remote_fills: FillsApi,
) -> None:
    fill = Fill(
        fill_id=uuid.uuid4(),
        side=Side.BUY,
        price=Decimal(1),
        amount=Decimal(1),
        filled_at=datetime.now(UTC),
        fee=Fee(asset="USDT", amount=Decimal(0)),
        note="x" * (3 * 1024 * 1024),  # over the default 2 MiB DATA_UPLOAD_MAX_MEMORY_SIZE
    )

    with pytest.raises(PayloadTooLarge):
        remote_fills.echo_fill(fill=fill)


def test_wrong_argument_types_fail_on_the_caller_before_sending(remote_fills: FillsApi) -> None:
    with pytest.raises(rpc.BadArguments) as raised:
        remote_fills.quote(symbol="BTC/USDT", mid="a lot")  # type: ignore[arg-type]

    assert raised.value.details[0]["loc"] == ["mid"]


@pytest.fixture
def server_without_token(rpc_server_pool: LiveServerPool) -> LiveServer:
    return rpc_server_pool.get(extra_modules=SAMPLE_MODULES, rpc_on=False)


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_the_endpoint_is_off_without_a_service_token(
    server_without_token: LiveServer, method: str
) -> None:
    response = httpx.request(
        method,
        f"{server_without_token.url}/{FILLS}/sides",
        headers={"Authorization": "Bearer anything"},
        timeout=10,
    )

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert RPC_MARKER_HEADER not in response.headers


def test_a_client_of_a_process_with_the_endpoint_off_gets_remote_unavailable(
    server_without_token: LiveServer, settings: Any
) -> None:
    use_remote(settings, server_without_token, "rpcsample")
    settings.DSTA_SERVICE_TOKEN = "anything"

    with pytest.raises(rpc.RemoteUnavailable) as raised:
        rpc.resolve(FillsApi).sides()

    assert raised.value.details == {"status": 404}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nobody listens once the socket is closed


def test_a_remote_that_is_down_raises_remote_unavailable_quickly(settings: Any) -> None:
    settings.DSTA_REMOTE_SERVICES = {"rpcsample": f"http://127.0.0.1:{closed_port()}"}
    settings.DSTA_RPC_TIMEOUT_SECONDS = 5.0
    rpc.clear_client_cache()
    started = time.monotonic()

    with pytest.raises(rpc.RemoteUnavailable) as raised:
        rpc.resolve(FillsApi).sides()

    assert raised.value.details == {"reason": "connect"}
    assert raised.value.status == 503
    assert time.monotonic() - started < 1.5  # two short retries, not the 5 s timeout
    rpc.clear_client_cache()


def test_a_slow_remote_raises_remote_unavailable_within_the_timeout_and_is_not_retried(
    remote_fills: FillsApi, settings: Any
) -> None:
    key = uuid.uuid4().hex
    settings.DSTA_RPC_TIMEOUT_SECONDS = 0.3
    started = time.monotonic()

    with pytest.raises(rpc.RemoteUnavailable) as raised:
        remote_fills.sleep(seconds=1.0, key=key)

    assert time.monotonic() - started < 0.9
    assert raised.value.details == {"reason": "timeout"}
    settings.DSTA_RPC_TIMEOUT_SECONDS = 10.0
    # Served after the sleeping call: a retried read timeout would have counted twice.
    assert remote_fills.calls(key=key) == 1
