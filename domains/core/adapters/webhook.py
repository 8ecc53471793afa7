"""Webhooks: POST a JSON body, signed with HMAC-SHA256 over ``"<timestamp>.<body>"``.

Headers: ``X-DSTA-Timestamp`` (Unix seconds) and ``X-DSTA-Signature`` (``sha256=<hex>``);
receivers check them with ``domains.core.api.verify_webhook_signature``.

**Where a webhook may go.** A user supplies the URL, so unless private targets are allowed
(local mode) it must be https to a host whose addresses are all public: a webhook must not reach
services inside our network (SSRF). Redirects are not followed: a 3xx is a permanent failure.

**Pinned to the checked address (DNS rebinding).** Checking the host's addresses and then
letting the HTTP client resolve the name again leaves a gap: a DNS server that answers a public
address to the check and ``127.0.0.1`` to the connection (a rebinding attack, TTL 0) gets our
POST into the network. So outside local mode the connection itself is checked:
:class:`PinnedBackend`, an httpcore network backend, resolves the host once when httpcore asks
for a TCP connection, refuses unless every address is public, and connects to a vetted address
by IP. httpcore still runs TLS with the URL's host name (``start_tls(server_hostname=<host>)``:
SNI and certificate verification are for the name), and httpx sends the URL's ``Host`` header,
so the receiver sees an ordinary request.

Why a network backend: it is httpcore's extension point for opening connections
(``ConnectionPool(network_backend=...)``), the one place every connection of the pool goes
through, including a reconnect. The alternatives each lose something: rewriting the URL to the
IP breaks SNI, certificate checks and ``Host``; patching ``socket.getaddrinfo`` is process-wide;
an egress proxy is the other sound answer, but needs infrastructure. httpx 0.28 builds its pool
without a way to name a backend, so :class:`PinnedTransport` rebuilds it with ours (the
rebinding test fails if httpx ever stops using it). The environment's proxy settings are
ignored on this path (``trust_env=False``): a proxy would resolve the name itself.
"""

import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from domains.core.adapters.delivery_errors import PermanentDeliveryError, TransientDeliveryError
from domains.core.api import WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER, sign_webhook

USER_AGENT = "dsta-webhooks/1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the host's addresses as strings (``getaddrinfo``'s, by default).
Resolver = Callable[[str, int], Sequence[str]]

# NAT64 prefixes carry an IPv4 address in their last 32 bits (RFC 6052, RFC 8215).
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def system_resolver(host: str, port: int) -> list[str]:
    """The host's TCP addresses from the system resolver."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def is_public_address(address: IPAddress) -> bool:
    """Whether a webhook may connect to ``address``: globally reachable unicast per the IANA
    special-purpose registries (``is_global``: no loopback, private, link-local, CGNAT, reserved,
    documentation ranges), not multicast; an IPv6 address that carries an IPv4 one
    (IPv4-mapped, 6to4, Teredo, NAT64) is judged by that IPv4 address too."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # What a dual-stack socket connects to (Python versions differ on its is_global).
        return is_public_address(address.ipv4_mapped)
    if address.is_multicast or not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return True
    embedded: list[ipaddress.IPv4Address | None] = [address.sixtofour]
    if address.teredo is not None:
        embedded.extend(address.teredo)
    if any(address in network for network in _NAT64):
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    return all(is_public_address(v4) for v4 in embedded if v4 is not None)


def vetted_addresses(
    host: str,
    port: int,
    *,
    resolve: Resolver = system_resolver,
    allowed: frozenset[IPAddress] = frozenset(),
) -> list[IPAddress]:
    """``host``'s addresses (an IP literal is its own) when every one is public or in
    ``allowed``; ``PermanentDeliveryError`` when one is not, ``TransientDeliveryError`` when
    the name does not resolve."""
    literal = _ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = list(dict.fromkeys(_parse(a) for a in resolve(host, port)))
        except (OSError, UnicodeError) as exc:
            raise TransientDeliveryError(f"cannot resolve the webhook host {host}") from exc
        if not addresses:
            raise TransientDeliveryError(f"the webhook host {host} has no address")
    for address in addresses:
        if not (is_public_address(address) or address in allowed):
            raise PermanentDeliveryError(
                f"the webhook host {host} resolves to a non-public address"
            )
    return addresses


class PinnedBackend(httpcore.NetworkBackend):
    """Opens each TCP connection to a vetted address of the requested host (module docstring);
    TLS, run by httpcore on the returned stream, stays on the host name."""

    def __init__(
        self, *, resolve: Resolver = system_resolver, allowed: frozenset[IPAddress] = frozenset()
    ) -> None:
        self.resolve = resolve
        self.allowed = allowed
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in vetted_addresses(host, port, resolve=self.resolve, allowed=self.allowed):
            try:
                return self._sockets.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # the next vetted address, as a browser would
        assert failure is not None  # vetted_addresses never returns an empty list
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise PermanentDeliveryError("webhooks do not use unix sockets")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport over a pool whose connections go through :class:`PinnedBackend`."""

    def __init__(
        self,
        *,
        resolve: Resolver = system_resolver,
        allowed: frozenset[IPAddress] = frozenset(),
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            network_backend=PinnedBackend(resolve=resolve, allowed=allowed),
        )


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent (compact JSON, keys sorted)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def where(url: str) -> str:
    """What of ``url`` is safe to show in a delivery log: scheme and host (the path and the
    query of a webhook URL are often its secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


def check_target(
    url: str,
    *,
    allow_private: bool,
    resolve: Resolver = system_resolver,
    allowed: frozenset[IPAddress] = frozenset(),
) -> None:
    """PermanentDeliveryError unless ``url`` is http(s) and (when private targets are not
    allowed) https to a host with only public addresses. An early, clear refusal: the
    connection is checked again when it is opened (:class:`PinnedBackend`)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentDeliveryError("the webhook URL is not an http(s) URL")
    if allow_private:
        return
    if parts.scheme != "https":
        raise PermanentDeliveryError("webhooks must use https")
    vetted_addresses(parts.hostname, parts.port or 443, resolve=resolve, allowed=allowed)


def post_webhook(
    *,
    url: str,
    payload: dict[str, Any],
    secret: str,
    timeout: float,
    allow_private: bool,
    now: float | None = None,
    resolve: Resolver = system_resolver,
    verify: ssl.SSLContext | bool = True,
    allowed_addresses: frozenset[IPAddress] = frozenset(),
) -> None:
    """Sign and POST ``payload`` to ``url``; raises Transient/PermanentDeliveryError.

    2xx is delivered; 408, 429 and 5xx are worth retrying; any other answer (a 4xx, a
    redirect) is final. ``resolve``, ``verify`` (a CA bundle's context) and
    ``allowed_addresses`` (addresses to treat as public) exist for tests that point a host name
    at a local TLS server; production passes none of them.
    """
    check_target(url, allow_private=allow_private, resolve=resolve, allowed=allowed_addresses)
    body = webhook_body(payload)
    timestamp = int(time.time() if now is None else now)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        WEBHOOK_TIMESTAMP_HEADER: str(timestamp),
        WEBHOOK_SIGNATURE_HEADER: sign_webhook(secret=secret, timestamp=timestamp, body=body),
    }
    if allow_private:
        client = httpx.Client(verify=verify, timeout=timeout, follow_redirects=False)
    else:
        transport = PinnedTransport(resolve=resolve, allowed=allowed_addresses, verify=verify)
        client = httpx.Client(
            transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
        )
    try:
        with client:
            response = client.post(url, content=body, headers=headers)
    except httpx.TimeoutException as exc:
        raise TransientDeliveryError(f"the webhook did not answer within {timeout}s") from exc
    except httpx.TransportError as exc:
        raise TransientDeliveryError(f"the webhook is unreachable ({type(exc).__name__})") from exc
    status = response.status_code
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        raise PermanentDeliveryError(f"webhook HTTP {status} (redirects are not followed)")
    error = f"webhook HTTP {status}"
    if status in (408, 429) or status >= 500:
        raise TransientDeliveryError(error, retry_after=_retry_after(response))
    raise PermanentDeliveryError(error)


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return _parse(host.strip("[]"))
    except ValueError:
        return None


def _parse(address: str) -> IPAddress:
    return ipaddress.ip_address(address.split("%")[0])  # an IPv6 scope (fe80::1%eth0) aside


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None
