"""Real local peers for the channel tests: an SMTP server (aiosmtpd) and an HTTP server
standing in for the Telegram Bot API and for webhook receivers. Nothing of ours is patched:
the channels talk to these over real sockets."""

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- SMTP ----------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: Message


@dataclass
class SmtpPeer:
    """What the SMTP server received; ``refuse`` maps a recipient to an SMTP reply (e.g.
    ``"550 5.1.1 no such user"``), ``transient_failures`` answers the first N RCPTs with 451."""

    host: str
    port: int
    received: list[ReceivedMail] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    transient_failures: int = 0
    rcpt_attempts: int = 0


class _Handler:
    def __init__(self, peer: SmtpPeer) -> None:
        self.peer = peer

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        self.peer.rcpt_attempts += 1
        if self.peer.rcpt_attempts <= self.peer.transient_failures:
            return "451 4.3.0 try again later"
        if address in self.peer.refuse:
            return self.peer.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.peer.received.append(
            ReceivedMail(
                sender=str(envelope.mail_from),
                recipients=list(envelope.rcpt_tos),
                message=message_from_bytes(content),
            )
        )
        return "250 Message accepted"


@contextmanager
def smtp_server() -> Iterator[SmtpPeer]:
    """A real SMTP server on 127.0.0.1 for the duration of the block."""
    peer = SmtpPeer(host="127.0.0.1", port=free_port())
    controller = Controller(_Handler(peer), hostname=peer.host, port=peer.port)
    controller.start()
    try:
        yield peer
    finally:
        controller.stop()


# --- HTTP ----------------------------------------------------------------------------------


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[ReceivedRequest], tuple[int, dict[str, Any]]]


@dataclass
class HttpPeer:
    """An HTTP server recording every request; ``respond`` decides each answer (status, JSON
    body). ``fail_first(n, status)`` answers the first n requests with ``status``."""

    url: str
    requests: list[ReceivedRequest] = field(default_factory=list)
    respond: Responder = field(default=lambda request: (200, {"ok": True}))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_first(self, count: int, status: int, then: Responder | None = None) -> None:
        final = then or self.respond

        def respond(request: ReceivedRequest) -> tuple[int, dict[str, Any]]:
            if len(self.requests) <= count:
                return status, {"ok": False, "error_code": status, "description": "failing"}
            return final(request)

        self.respond = respond


def _handler_for(peer: HttpPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = ReceivedRequest(
                method="POST",
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=self.rfile.read(length),
            )
            with peer.lock:
                peer.requests.append(request)
                status, body = peer.respond(request)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the test reads peer.requests instead

    return Handler


@contextmanager
def http_server() -> Iterator[HttpPeer]:
    """A real HTTP server on 127.0.0.1 (in a thread) for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(HttpPeer(url="")))
    peer = HttpPeer(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler_for(peer)
    thread = threading.Thread(target=server.serve_forever, name="test-http-peer", daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
