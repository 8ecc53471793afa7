"""Webhook SSRF checks hold at connect time: the connection is pinned to a vetted address.

A real TLS server on 127.0.0.1 (certificates from a throwaway CA made here) stands in for the
receiver; the DNS is a resolver handed to ``post_webhook`` (production uses the system's). The
server counts TCP connections before any TLS, so "refused" means no connection was opened.
"""

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given
from hypothesis import strategies as st

from domains.core.adapters.delivery_errors import PermanentDeliveryError, TransientDeliveryError
from domains.core.adapters.webhook import is_public_address, post_webhook
from domains.core.api import verify_webhook_signature

SECRET = "whsec-pinning-test"
PUBLIC = "93.184.216.34"  # a globally routable address (never connected to here)
LOOPBACK = ipaddress.ip_address("127.0.0.1")

# --- a throwaway CA and a TLS receiver ----------------------------------------------------------


@dataclass
class Pki:
    folder: Path
    ca_key: ec.EllipticCurvePrivateKey
    ca_cert: x509.Certificate

    def client_context(self) -> ssl.SSLContext:
        """What the webhook client trusts: this CA only."""
        return ssl.create_default_context(cafile=str(self.folder / "ca.pem"))

    def server_context(self, name: str) -> ssl.SSLContext:
        """A server certificate for DNS name ``name``, signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        cert_path, key_path = self.folder / f"{name}.pem", self.folder / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dsta test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Pki(folder, key, cert)


@dataclass
class Receiver:
    port: int
    connections: int = 0  # TCP connections accepted, counted before the TLS handshake
    server_names: list[str | None] = field(default_factory=list)  # SNI of each handshake
    requests: list[dict[str, Any]] = field(default_factory=list)
    answer: tuple[int, dict[str, str]] = (200, {})


@contextmanager
def tls_receiver(context: ssl.SSLContext) -> Iterator[Receiver]:
    """A webhook receiver over TLS on 127.0.0.1, recording what reaches it."""
    receiver = Receiver(port=0)

    def remember_sni(sock: ssl.SSLObject, server_name: str | None, ctx: ssl.SSLContext) -> None:
        receiver.server_names.append(server_name)

    context.sni_callback = remember_sni

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append(
                {"path": self.path, "headers": dict(self.headers.items()), "body": body}
            )
            status, headers = receiver.answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def get_request(self) -> tuple[Any, Any]:
            sock, address = super().get_request()
            receiver.connections += 1
            return context.wrap_socket(sock, server_side=True), address

    server = Server(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def send(url: str, pki: Pki, **options: Any) -> None:
    post_webhook(
        url=url,
        payload={"type": "notification", "notification": {"id": "n-1"}},
        secret=SECRET,
        timeout=5,
        allow_private=False,
        verify=pki.client_context(),
        **options,
    )


class Rebinding:
    """A DNS answering one thing to the first query (the check) and another afterwards."""

    def __init__(self, first: str, then: str) -> None:
        self.answers = [first, then]
        self.queries: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.queries.append(host)
        return [self.answers[min(len(self.queries), 2) - 1]]


# --- the rebinding gap is closed ----------------------------------------------------------------


def test_a_rebinding_dns_cannot_point_the_connection_at_a_local_server(pki: Pki):
    # "localhost" is what the system resolver also maps to 127.0.0.1, and the receiver holds a
    # certificate for it: a client that resolved again on its own would deliver to it.
    with tls_receiver(pki.server_context("localhost")) as receiver:
        dns = Rebinding(first=PUBLIC, then="127.0.0.1")

        with pytest.raises(PermanentDeliveryError, match="non-public address"):
            send(f"https://localhost:{receiver.port}/hook", pki, resolve=dns)

        assert dns.queries == ["localhost", "localhost"]  # the check, then the connection
        assert receiver.connections == 0
        assert receiver.requests == []


@pytest.mark.parametrize(
    "address",
    [
        "::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback: a dual-stack socket reaches 127.0.0.1
        "::ffff:10.0.0.7",
        "::ffff:169.254.169.254",  # a cloud metadata service, IPv4-mapped
        "fe80::1%lo",
        "fd12:3456::1",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "ff02::1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
    ],
)
def test_non_public_addresses_are_refused_when_connecting(pki: Pki, address: str):
    with tls_receiver(pki.server_context("localhost")) as receiver:
        dns = Rebinding(first=PUBLIC, then=address)
        with pytest.raises(PermanentDeliveryError, match="non-public address"):
            send(f"https://localhost:{receiver.port}/hook", pki, resolve=dns)
        assert len(dns.queries) == 2
        assert receiver.connections == 0


def test_an_ip_literal_is_vetted_without_asking_the_dns(pki: Pki):
    with tls_receiver(pki.server_context("localhost")) as receiver:
        dns = Rebinding(first=PUBLIC, then=PUBLIC)
        with pytest.raises(PermanentDeliveryError, match="non-public address"):
            send(f"https://[::ffff:127.0.0.1]:{receiver.port}/hook", pki, resolve=dns)
        assert dns.queries == []
        assert receiver.connections == 0


# --- an ordinary host still works, on its own name ----------------------------------------------


def test_a_public_host_is_reached_at_its_vetted_address_under_its_own_name(pki: Pki):
    with tls_receiver(pki.server_context("hooks.example.test")) as receiver:
        queries: list[str] = []

        def dns(host: str, port: int) -> list[str]:
            queries.append(host)
            return ["127.0.0.1"]

        # The test's allow-list stands 127.0.0.1 in for a public address (production has none).
        send(
            f"https://hooks.example.test:{receiver.port}/hook?token=t",
            pki,
            resolve=dns,
            allowed_addresses=frozenset({LOOPBACK}),
        )

        assert queries == ["hooks.example.test", "hooks.example.test"]
        assert receiver.connections == 1
        assert receiver.server_names == ["hooks.example.test"]  # SNI: the name, not the IP
        [request] = receiver.requests
        headers = {name.lower(): value for name, value in request["headers"].items()}
        assert headers["host"] == f"hooks.example.test:{receiver.port}"
        assert request["path"] == "/hook?token=t"
        assert verify_webhook_signature(
            secret=SECRET,
            body=request["body"],
            timestamp=headers["x-dsta-timestamp"],
            signature=headers["x-dsta-signature"],
        )
        assert json.loads(request["body"])["notification"] == {"id": "n-1"}


def test_the_certificate_is_verified_for_the_host_name(pki: Pki):
    # Connecting to a pinned IP must not relax TLS: a certificate for another name fails.
    with tls_receiver(pki.server_context("other.example.test")) as receiver:
        with pytest.raises(TransientDeliveryError, match="unreachable"):
            send(
                f"https://hooks.example.test:{receiver.port}/hook",
                pki,
                resolve=lambda host, port: ["127.0.0.1"],
                allowed_addresses=frozenset({LOOPBACK}),
            )
        assert receiver.requests == []


def test_redirects_are_refused_not_followed(pki: Pki):
    with tls_receiver(pki.server_context("hooks.example.test")) as receiver:
        receiver.answer = (302, {"Location": f"https://127.0.0.1:{receiver.port}/internal"})
        with pytest.raises(PermanentDeliveryError, match=r"HTTP 302 \(redirects are not followed"):
            send(
                f"https://hooks.example.test:{receiver.port}/hook",
                pki,
                resolve=lambda host, port: ["127.0.0.1"],
                allowed_addresses=frozenset({LOOPBACK}),
            )
        assert [r["path"] for r in receiver.requests] == ["/hook"]


# --- the address rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("64:ff9b::5db8:d822", True),  # NAT64 of 93.184.216.34
        ("2002:5db8:d822::1", True),  # 6to4 of 93.184.216.34
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("192.0.2.1", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::", False),
        ("::1", False),
        ("::ffff:8.8.8.8", True),  # IPv4-mapped: judged as the IPv4 address it reaches
        ("::ffff:127.0.0.1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("ff0e::1", False),  # global-scope multicast
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("64:ff9b:1::a00:1", False),  # local-use NAT64
        ("2002:a00:1::1", False),  # 6to4 of 10.0.0.1
        ("2001::1", False),  # Teredo
        ("2001:db8::1", False),
    ],
)
def test_which_addresses_are_public(address: str, public: bool):
    assert is_public_address(ipaddress.ip_address(address)) is public


PRIVATE_V4 = st.one_of(
    *(
        st.integers(int(net.network_address), int(net.broadcast_address)).map(ipaddress.IPv4Address)
        for net in map(
            ipaddress.IPv4Network,
            [
                "0.0.0.0/8",
                "10.0.0.0/8",
                "100.64.0.0/10",
                "127.0.0.0/8",
                "169.254.0.0/16",
                "172.16.0.0/12",
                "192.168.0.0/16",
            ],
        )
    )
)


@given(PRIVATE_V4)
def test_no_ipv6_wrapping_makes_a_private_ipv4_address_public(v4: ipaddress.IPv4Address):
    wrapped = [
        ipaddress.IPv6Address(f"::ffff:{v4}"),  # IPv4-mapped
        ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80) | 1),  # 6to4
        ipaddress.IPv6Address((0x64FF9B << 96) | int(v4)),  # NAT64
    ]
    assert not is_public_address(v4)
    assert not any(is_public_address(address) for address in wrapped)
