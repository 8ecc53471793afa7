"""A local HTTP server posing as a venue, and the ccxt transport that reaches it.

ccxt keeps its real URLs (``https://api.binance.com/...``), so its URL-dependent logic (e.g.
Binance's per-market error maps) runs unchanged; only the socket is redirected: a ``requests``
transport adapter mounted on the exchange's session rewrites each request to
``http://127.0.0.1:<port>``, keeping the original host in ``X-Forwarded-Host``. The server
records every request and answers from a queue of scripted responses.

For fault injection: a ``handler`` (e.g. ``fake_binance.BinanceSim``) may answer statefully;
``fail_next(...)`` makes the transport fail the next request without sending it (connect
timeout, connection refused) or after the server handled it (a read timeout: the venue did the
work, we never heard); ``clock`` timestamps each recorded request (tests use a manual clock).
"""

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError


@dataclass
class RecordedRequest:
    method: str
    host: str
    path: str
    query: dict[str, str]
    body: str
    headers: dict[str, str]
    at: float = 0.0  # the fake's clock when it arrived

    @property
    def form(self) -> dict[str, str]:
        """The body as urlencoded fields (Binance signs and sends those)."""
        return dict(parse_qsl(self.body, keep_blank_values=True))

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Scripted:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


# Transport faults (``fail_next``): before sending, or after the server answered.
CONNECT_TIMEOUT = "connect_timeout"  # never reached the venue
CONNECTION_REFUSED = "connection_refused"  # never reached the venue
READ_TIMEOUT = "read_timeout"  # the venue handled it; the answer was lost
FAULT_HEADER = "X-Fake-Fault"

Handler = Callable[[RecordedRequest], "Scripted | None"]


class FakeVenue:
    """Answers requests in order from ``respond(...)``; 404 when nothing is scripted."""

    def __init__(
        self, *, clock: Callable[[], float] | None = None, handler: Handler | None = None
    ) -> None:
        self.requests: list[RecordedRequest] = []
        self._script: deque[Scripted] = deque()
        self._routes: dict[tuple[str, str], Scripted] = {}
        self._faults: deque[str] = deque()
        self._lock = threading.Lock()
        self.clock = clock or (lambda: 0.0)
        self.handler = handler
        venue = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                recorded = RecordedRequest(
                    method=self.command,
                    host=self.headers.get("X-Forwarded-Host", ""),
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    body=body,
                    headers=dict(self.headers.items()),
                    at=venue.clock(),
                )
                answer = venue._answer(recorded)
                payload = answer.body.encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PUT = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # quiet tests
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def __enter__(self) -> "FakeVenue":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def respond(
        self, body: Any, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        """Queue the answer to the next request (``body`` is JSON-encoded unless a str)."""
        text = body if isinstance(body, str) else json.dumps(body)
        self._script.append(Scripted(status, text, headers or {}))

    def route(self, method: str, path: str, body: Any, *, status: int = 200) -> None:
        """Answer every ``method path`` request with ``body`` (for calls ccxt makes on the
        side, such as HTX's account lookup), before the queue is consulted."""
        text = body if isinstance(body, str) else json.dumps(body)
        self._routes[(method, path)] = Scripted(status, text)

    def _answer(self, recorded: RecordedRequest) -> Scripted:
        with self._lock:
            routed = self._routes.get((recorded.method, recorded.path))
            if routed is not None:
                return routed
            self.requests.append(recorded)
            if self._script:
                return self._script.popleft()
            if self.handler is not None:
                answer = self.handler(recorded)
                if answer is not None:
                    return answer
        return Scripted(404, json.dumps({"error": "nothing scripted"}))

    def fail_next(self, *faults: str) -> None:
        """Fail the next requests at the transport: CONNECT_TIMEOUT or CONNECTION_REFUSED
        (nothing reaches the server), or READ_TIMEOUT (the server handles the request, its
        answer is dropped)."""
        with self._lock:
            self._faults.extend(faults)

    def _next_fault(self) -> str | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def session(self) -> requests.Session:
        """A requests session whose every https/http request lands on this server."""
        session = requests.Session()
        adapter = _Redirect(f"127.0.0.1:{self.port}", self)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def last(self) -> RecordedRequest:
        return self.requests[-1]

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.requests)


class _Redirect(HTTPAdapter):
    def __init__(self, netloc: str, venue: FakeVenue | None = None) -> None:
        super().__init__(max_retries=0)
        self.netloc = netloc
        self.venue = venue

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        fault = self.venue._next_fault() if self.venue is not None else None
        if fault == CONNECT_TIMEOUT:
            raise requests.exceptions.ConnectTimeout(f"fake: connect timeout to {parts.netloc}")
        if fault == CONNECTION_REFUSED:
            # As requests raises it: urllib3's MaxRetryError for a connection never made.
            refused = NewConnectionError(
                None,  # type: ignore[arg-type]
                f"fake: failed to establish a new connection to {parts.netloc}: "
                "[Errno 111] Connection refused",
            )
            raise requests.exceptions.ConnectionError(
                MaxRetryError(None, request.url, refused),  # type: ignore[arg-type]
                request=request,
            )
        request.headers["X-Forwarded-Host"] = parts.netloc
        request.url = urlunsplit(("http", self.netloc, parts.path, parts.query, ""))
        kwargs["verify"] = False
        kwargs["proxies"] = {}
        response = super().send(request, **kwargs)
        if fault == READ_TIMEOUT or response.headers.get(FAULT_HEADER) == READ_TIMEOUT:
            response.close()
            raise requests.exceptions.ReadTimeout(f"fake: read timed out from {parts.netloc}")
        return response
