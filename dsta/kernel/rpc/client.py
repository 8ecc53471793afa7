"""The generated HTTP client: one generic mechanism for every api Protocol.

Each remote domain gets one pooled ``httpx.Client``; each service gets a client class whose
methods are generated from the Protocol's declared methods and call
``POST <base>/internal/rpc/<service>/<method>``. Every call has a timeout; a connect failure
is retried briefly (the request never reached the server, so retrying cannot do it twice), a
read timeout is not (the server may be doing the work).
"""

import inspect
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from django.conf import settings

from dsta.kernel.errors import DstaError, PayloadTooLarge, error_class_for
from dsta.kernel.observability.context import request_id_var
from dsta.kernel.rpc.caller import CALLER_HEADER, calling_domain
from dsta.kernel.rpc.contract import MethodSpec, ServiceSpec
from dsta.kernel.rpc.errors import RemoteUnavailable, RpcError

# Set by the internal endpoint on every answer it gives, so a 404 from a process whose endpoint
# is off (or a proxy's 502 page) is never mistaken for a domain's own NotFound.
RPC_MARKER_HEADER = "X-DSTA-RPC"
RPC_PATH = "internal/rpc"
# Pauses before the 2nd and 3rd connect attempts; the whole call stays within the timeout.
CONNECT_RETRY_DELAYS = (0.05, 0.2)


class RemoteTransport:
    """The pooled HTTP connection to one remote process."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Content-Type": "application/json", "User-Agent": "dsta-rpc/1"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def call(self, method: MethodSpec, kwargs: Mapping[str, Any]) -> Any:
        """Call ``method`` remotely: encode, send with the service token, decode or re-raise."""
        body = method.encode_arguments(kwargs)
        headers = {}
        if token := settings.DSTA_SERVICE_TOKEN:
            headers["Authorization"] = f"Bearer {token}"
        if (request_id := request_id_var.get()) != "-":
            headers["X-Request-ID"] = request_id
        # Who is calling, for the few methods that only one domain may call (caller.py).
        if (caller := calling_domain()) is not None:
            headers[CALLER_HEADER] = caller
        response = self._send(f"{RPC_PATH}/{method.service}/{method.name}", body, headers)
        if response.headers.get(RPC_MARKER_HEADER) != "1":
            if response.status_code == 413:  # refused by a body-size limit before the endpoint
                raise PayloadTooLarge(
                    f"the arguments of {method.service}.{method.name} are larger than "
                    f"{self.base_url} accepts",
                    details={"bytes": len(body)},
                )
            raise RemoteUnavailable(
                f"{self.base_url} does not serve the DSTA rpc endpoint "
                f"(HTTP {response.status_code})",
                details={"status": response.status_code},
            )
        if response.status_code == 200:
            return method.decode_result(response.content)
        raise _remote_error(response)

    def _send(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        timeout = float(settings.DSTA_RPC_TIMEOUT_SECONDS)
        deadline = time.monotonic() + timeout
        where = f"{self.base_url}{path}"
        for delay in (*CONNECT_RETRY_DELAYS, None):
            remaining = deadline - time.monotonic()
            try:
                return self._http.post(path, content=body, headers=headers, timeout=remaining)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Never reached the server: safe to try again while time is left.
                if delay is None or time.monotonic() + delay >= deadline:
                    raise RemoteUnavailable(
                        f"cannot connect to {where}: {exc}", details={"reason": "connect"}
                    ) from exc
                time.sleep(delay)
            except httpx.TimeoutException as exc:
                raise RemoteUnavailable(
                    f"{where} did not answer within {timeout}s", details={"reason": "timeout"}
                ) from exc
            except httpx.TransportError as exc:
                raise RemoteUnavailable(
                    f"{where} failed: {exc!r}", details={"reason": "transport"}
                ) from exc
        raise AssertionError("unreachable: the last attempt returns or raises")


def _remote_error(response: httpx.Response) -> DstaError:
    """The error the remote reported, as the same class when its code is registered here."""
    try:
        error = json.loads(response.content)["error"]
        code, message, details = str(error["code"]), str(error["message"]), error.get("details")
    except (ValueError, KeyError, TypeError) as exc:
        return RpcError(
            f"the remote answered HTTP {response.status_code} without the error format",
            details={"status": response.status_code, "reason": repr(exc)},
        )
    error_class = error_class_for(code)
    if error_class is DstaError and code != DstaError.code:
        # A code this process does not know (e.g. the remote's internal_error).
        return RpcError(
            f"remote error {code}: {message}", details={"code": code, **_as_dict(details)}
        )
    # Bypass a subclass's own __init__: the wire carries exactly message and details.
    reraised = error_class.__new__(error_class)
    DstaError.__init__(reraised, message, details=details)
    return reraised


def _as_dict(details: Any) -> dict[str, Any]:
    return {"details": details} if details is not None else {}


class RemoteClient:
    """Base of the generated clients (handy in ``isinstance`` checks and reprs)."""

    _spec: ServiceSpec

    def __init__(self, transport: RemoteTransport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"<remote {self._spec.name} at {self._transport.base_url}>"


def build_client(spec: ServiceSpec, transport: RemoteTransport) -> RemoteClient:
    """An object with the Protocol's methods, each a call over ``transport``."""
    namespace: dict[str, Any] = {"_spec": spec, "__doc__": f"Remote client of {spec.name}."}
    for name, method in spec.methods.items():
        namespace[name] = _remote_method(method)
    client_class = type(f"Remote{spec.api.__name__}", (RemoteClient,), namespace)
    client: RemoteClient = client_class(transport)
    return client


def _remote_method(method: MethodSpec) -> Callable[..., Any]:
    def call(self: RemoteClient, *args: Any, **kwargs: Any) -> Any:
        if args:
            raise TypeError(f"{method.name}() takes keyword arguments only")
        return self._transport.call(method, kwargs)

    call.__name__ = call.__qualname__ = method.name
    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    call.__signature__ = method.signature.replace(  # type: ignore[attr-defined]
        parameters=[self_parameter, *method.signature.parameters.values()]
    )
    return call
