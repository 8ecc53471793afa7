"""Reach the real Redis/RabbitMQ servers, or skip (fail under CI=true) when they are down."""

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
AMQP_URL = os.environ.get("AMQP_TEST_URL") or "amqp://guest:guest@127.0.0.1:5672/%2F"


def require_server(url: str) -> str:
    """``url`` when its server accepts a TCP connection; else skip (or fail when CI=true)."""
    parsed = urlparse(url)
    default_port = {"redis": 6379, "amqp": 5672}.get(parsed.scheme, 0)
    address = (parsed.hostname or "127.0.0.1", parsed.port or default_port)
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError as exc:
        message = f"{parsed.scheme} server at {address} not reachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


def closed_port_url(scheme: str) -> str:
    """A URL on a local port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}/"


@contextmanager
def black_hole(scheme: str) -> Iterator[str]:
    """A URL whose server accepts the connection and then never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        # The kernel completes handshakes into the backlog; nobody ever reads.
        sock.listen(8)
        yield f"{scheme}://127.0.0.1:{sock.getsockname()[1]}/"
