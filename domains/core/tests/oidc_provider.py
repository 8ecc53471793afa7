"""A small OpenID Connect provider for tests, served over real HTTP from a thread.

Discovery, JWKS, an authorization endpoint that approves at once (302 back with a code) and a
token endpoint that checks the client's credentials, the code, the redirect URI and the PKCE
verifier, and issues an RS256 id_token signed with a key generated here. Knobs let a test make
it misbehave (sign with an unpublished key, send another nonce, refuse the code).
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "dsta-test-client"
CLIENT_SECRET = "provider-test-secret"


@dataclass
class LocalProvider:
    """State of the running provider; change the knobs between requests."""

    issuer: str = ""
    # A key id per provider: a JWKS cached (in a shared Redis) for an earlier provider on the
    # same port never matches this one's.
    kid: str = field(default_factory=lambda: f"test-{secrets.token_hex(6)}")
    subject: str = "subject-123"
    email: str = "ada@example.com"
    preferred_username: str = "ada"
    signing_key: Any = field(default_factory=lambda: _new_key())
    published_key: Any = None
    nonce_override: str | None = None
    refuse_code: bool = False
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.published_key = self.signing_key

    def id_token(self, *, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": self.nonce_override if self.nonce_override is not None else nonce,
            "email": self.email,
            "email_verified": True,
            "preferred_username": self.preferred_username,
        }
        return jwt.encode(claims, self.signing_key, algorithm="RS256", headers={"kid": self.kid})


def _new_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _handler(provider: LocalProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _json(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._json(
                    200,
                    {
                        "issuer": provider.issuer,
                        "authorization_endpoint": f"{provider.issuer}/authorize",
                        "token_endpoint": f"{provider.issuer}/token",
                        "jwks_uri": f"{provider.issuer}/jwks",
                        "response_types_supported": ["code"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    },
                )
            elif url.path == "/jwks":
                jwk = RSAAlgorithm.to_jwk(provider.published_key.public_key(), as_dict=True)
                self._json(
                    200, {"keys": [{**jwk, "kid": provider.kid, "alg": "RS256", "use": "sig"}]}
                )
            elif url.path == "/authorize":
                if (
                    query.get("client_id") != CLIENT_ID
                    or query.get("response_type") != "code"
                    or query.get("code_challenge_method") != "S256"
                ):
                    self._json(400, {"error": "invalid_request"})
                    return
                code = secrets.token_urlsafe(16)
                provider.codes[code] = query
                target = query["redirect_uri"]
                back = urlencode({"code": code, "state": query["state"]})
                self.send_response(302)
                self.send_header("Location", f"{target}?{back}")
                self.end_headers()
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            provider.token_requests.append(form)
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                self._json(401, {"error": "invalid_client"})
                return
            pending = provider.codes.pop(form.get("code", ""), None)
            if pending is None or provider.refuse_code:
                self._json(400, {"error": "invalid_grant"})
                return
            verifier = form.get("code_verifier", "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .rstrip(b"=")
                .decode()
            )
            if (
                challenge != pending["code_challenge"]
                or form.get("redirect_uri") != pending["redirect_uri"]
            ):
                self._json(400, {"error": "invalid_grant"})
                return
            self._json(
                200,
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "id_token": provider.id_token(nonce=pending["nonce"]),
                },
            )

    return Handler


@contextmanager
def local_oidc_provider() -> Iterator[LocalProvider]:
    """Serve a fresh provider on a free loopback port until the block ends."""
    provider = LocalProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
