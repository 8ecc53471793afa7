"""Hooks on every HTTP request a ccxt exchange makes: the port the resilience layer plugs into.

ccxt's sync ``Exchange`` funnels each REST call through ``fetch2`` (which knows the endpoint and
its rate-limit cost from ccxt's api definitions) and then ``fetch`` (which knows the URL), and
hands the raw response to ``on_rest_response`` before raising for its status. :func:`instrument`
wraps those three methods on one exchange instance so that, per request:

1. ``before_request`` may wait for (or refuse) rate-limit tokens, in the venue's own units;
2. ``route`` may send the request to an alternate host of the venue (failover);
3. ``after_response`` / ``after_error`` see the outcome (status, headers, latency) to record
   health, switch hosts, honour ``Retry-After`` and write the redacted request log.

ccxt's own limiter (``enableRateLimit``) is switched off on an instrumented exchange: ours
replaces it (it is shared across processes and counts in the venue's units).
"""

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import ccxt


@dataclass(frozen=True)
class OutgoingRequest:
    """One REST request as ccxt's api definitions describe it, before it is signed."""

    venue: str
    api: str  # ccxt's api group, joined: "public", "private", "sapi", "private/spot"
    method: str  # GET, POST, DELETE, PUT
    path: str  # ccxt's endpoint path: "order", "depth", "spot/orders"
    params: Mapping[str, Any]
    ccxt_cost: float  # ccxt's cost of this call (api definitions; 1 when undefined)
    credential_id: str | None  # the account whose credentials sign it; None for public calls


@dataclass
class ExchangeRecord:
    """What went over the wire for one request (raw: the hooks redact before storing)."""

    url: str
    method: str
    request_headers: Mapping[str, str]
    request_body: str
    status: int | None = None  # None: no HTTP response (timeout, connection refused)
    response_headers: Mapping[str, str] = field(default_factory=dict)
    response_body: str = ""
    latency: float = 0.0  # seconds
    malformed: bool = False  # a success status with a body that is not JSON


class RequestHooks(Protocol):
    """What the resilience layer does around each request of one exchange instance."""

    def before_request(self, request: OutgoingRequest) -> None:
        """Wait for rate-limit tokens; raise ``VenueRateLimited`` (nothing is sent) if none
        come within the bound, or ``VenueUnavailable`` when the venue is switched off."""
        ...

    def route(self, url: str) -> str:
        """The URL to really call (an alternate host of the venue after failures)."""
        ...

    def after_response(self, request: OutgoingRequest, record: ExchangeRecord) -> None:
        """A response came back with a status < 400."""
        ...

    def after_error(
        self, request: OutgoingRequest, record: ExchangeRecord, error: BaseException
    ) -> None:
        """The request failed: an HTTP error status (``record.status``) or no response at all."""
        ...


_UNKNOWN = OutgoingRequest(
    venue="", api="", method="", path="", params={}, ccxt_cost=1.0, credential_id=None
)


def instrument(
    exchange: ccxt.Exchange,
    hooks: RequestHooks,
    *,
    venue: str,
    credential_id: str | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> ccxt.Exchange:
    """Route every REST request of ``exchange`` through ``hooks`` (see the module docstring).

    The per-request state lives in a thread-local: one exchange may serve several threads.
    """
    exchange.enableRateLimit = False
    local = threading.local()
    original_fetch2 = exchange.fetch2
    original_fetch = exchange.fetch
    original_on_rest_response = exchange.on_rest_response

    def fetch2(
        path: str,
        api: Any = "public",
        method: str = "GET",
        params: Any = None,
        config: Any = None,
    ) -> Any:
        params = {} if params is None else params
        config = {} if config is None else config
        cost = exchange.calculate_rate_limiter_cost(api, method, path, params, config)
        request = OutgoingRequest(
            venue=venue,
            api=api if isinstance(api, str) else "/".join(str(part) for part in api),
            method=str(method).upper(),
            path=str(path),
            params=dict(params) if isinstance(params, Mapping) else {},
            ccxt_cost=float(cost if cost is not None else 1),
            credential_id=credential_id,
        )
        hooks.before_request(request)
        local.request = request
        try:
            return original_fetch2(path, api, method, params, config)
        finally:
            local.request = None

    def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        request = getattr(local, "request", None) or _UNKNOWN
        routed = hooks.route(url)
        record = ExchangeRecord(
            url=routed,
            method=str(method).upper(),
            request_headers=dict(headers or {}),
            request_body=body if isinstance(body, str) else "" if body is None else str(body),
        )
        local.record = record
        started = clock()
        try:
            result = original_fetch(routed, method, headers, body)
            if isinstance(result, str) and result.strip():
                # ccxt hands back the raw text when it is not JSON and lets the parsers make
                # an empty ticker of it; every venue we use answers JSON, so this is a fault.
                record.malformed = True
                raise ccxt.BadResponse(f"{venue} answered {record.status} with malformed JSON")
        except BaseException as error:
            record.latency = clock() - started
            hooks.after_error(request, record, error)
            raise
        finally:
            local.record = None
        record.latency = clock() - started
        hooks.after_response(request, record)
        return result

    def on_rest_response(
        code: int,
        reason: str,
        url: str,
        method: str,
        response_headers: Any,
        response_body: str,
        request_headers: Any,
        request_body: Any,
    ) -> Any:
        record = getattr(local, "record", None)
        if record is not None:
            record.status = int(code)
            record.response_headers = dict(response_headers or {})
            record.response_body = response_body or ""
        return original_on_rest_response(
            code,
            reason,
            url,
            method,
            response_headers,
            response_body,
            request_headers,
            request_body,
        )

    exchange.fetch2 = fetch2
    exchange.fetch = fetch
    exchange.on_rest_response = on_rest_response
    return exchange
