"""OpenID Connect sign-in: authorization code flow with PKCE, state and nonce.

1. :func:`oidc_begin` reads the provider's discovery document, makes a state, a nonce and a
   PKCE verifier, keeps them in the cache under the state (10 minutes, single use) and returns
   the provider's authorization URL.
2. :func:`oidc_complete` takes the state and code the provider sent back, checks the state
   against the one the browser carried (cookie), exchanges the code (with the verifier) at the
   token endpoint, verifies the id_token's signature against the provider's JWKS (asymmetric
   algorithms only), its issuer, audience, expiry and nonce, then finds the user by
   (issuer, subject) or creates one with the default role, and opens a token session.
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from domains.core.api import (
    AccountInactive,
    AuditAction,
    OidcFailed,
    OidcNotConfigured,
    OidcProviderUnavailable,
)
from domains.core.models import AuthSession, ExternalIdentity
from domains.core.services import auth_settings
from domains.core.services.audit import audit_record
from domains.core.services.tokens import IssuedTokens, session_start
from domains.core.services.users import user_create

STATE_TTL_SECONDS = 600
METADATA_CACHE_SECONDS = 3600
# id_tokens must be signed with the provider's private key: no HS256 (shared secret), no none.
ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
CLOCK_SKEW_SECONDS = 60
_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


@dataclass(frozen=True, kw_only=True)
class ProviderMetadata:
    """The parts of the discovery document the flow uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True, kw_only=True)
class OidcLogin:
    """The outcome of a completed sign-in."""

    user: Any
    tokens: IssuedTokens
    next_url: str
    created: bool


def oidc_enabled() -> bool:
    """True when an issuer and a client id are configured."""
    return bool(auth_settings.oidc_issuer() and auth_settings.oidc_client_id())


def _client() -> httpx.Client:
    return httpx.Client(timeout=auth_settings.oidc_timeout_seconds(), follow_redirects=False)


def _get_json(url: str) -> dict[str, Any]:
    try:
        with _client() as client:
            response = client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcProviderUnavailable(
            "the identity provider could not be read", details={"url": url}
        ) from exc
    if not isinstance(document, dict):
        raise OidcProviderUnavailable("the identity provider answered garbage")
    return document


def provider_metadata() -> ProviderMetadata:
    """The configured issuer's discovery document (cached for an hour)."""
    issuer = auth_settings.oidc_issuer()
    if not oidc_enabled():
        raise OidcNotConfigured("OpenID Connect sign-in is not configured")
    cache_key = f"core:oidc:metadata:{hashlib.sha256(issuer.encode()).hexdigest()[:24]}"
    cached = cache.get(cache_key)
    if isinstance(cached, dict):
        return ProviderMetadata(**cached)
    document = _get_json(f"{issuer}/.well-known/openid-configuration")
    try:
        metadata = ProviderMetadata(
            issuer=str(document["issuer"]).rstrip("/"),
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            jwks_uri=str(document["jwks_uri"]),
        )
    except KeyError as exc:
        raise OidcProviderUnavailable(f"the discovery document lacks {exc.args[0]}") from exc
    # OIDC Discovery §4.3: the document's issuer must be the one we asked.
    if metadata.issuer != issuer:
        raise OidcProviderUnavailable("the discovery document names another issuer")
    cache.set(cache_key, metadata.__dict__, timeout=METADATA_CACHE_SECONDS)
    return metadata


def _state_key(state: str) -> str:
    return f"core:oidc:state:{hashlib.sha256(state.encode()).hexdigest()}"


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def oidc_begin(*, redirect_uri: str, next_url: str = "") -> tuple[str, str]:
    """Start a sign-in: ``(authorization URL to redirect the browser to, state)``."""
    metadata = provider_metadata()
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    cache.set(
        _state_key(state),
        {"nonce": nonce, "verifier": verifier, "redirect_uri": redirect_uri, "next": next_url},
        timeout=STATE_TTL_SECONDS,
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": auth_settings.oidc_client_id(),
            "redirect_uri": redirect_uri,
            "scope": auth_settings.oidc_scopes(),
            "state": state,
            "nonce": nonce,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    return f"{metadata.authorization_endpoint}{separator}{query}", state


def _exchange_code(metadata: ProviderMetadata, *, code: str, pending: dict[str, Any]) -> str:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": pending["redirect_uri"],
        "code_verifier": pending["verifier"],
        "client_id": auth_settings.oidc_client_id(),
    }
    secret = auth_settings.oidc_client_secret()
    try:
        with _client() as client:
            if secret:  # a confidential client: client_secret_basic
                auth = httpx.BasicAuth(auth_settings.oidc_client_id(), secret)
                response = client.post(metadata.token_endpoint, data=form, auth=auth)
            else:  # a public client: PKCE alone
                response = client.post(metadata.token_endpoint, data=form)
    except httpx.HTTPError as exc:
        raise OidcProviderUnavailable("the token endpoint could not be reached") from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        raise OidcFailed("the identity provider refused the code", details={"error": error})
    id_token = body.get("id_token")
    if not isinstance(id_token, str):
        raise OidcFailed("the token response has no id_token")
    return id_token


def _signing_key(metadata: ProviderMetadata, kid: str | None) -> Any:
    cache_key = f"core:oidc:jwks:{hashlib.sha256(metadata.jwks_uri.encode()).hexdigest()[:24]}"
    for attempt in range(2):
        jwks = cache.get(cache_key) if attempt == 0 else None
        if not isinstance(jwks, dict):
            jwks = _get_json(metadata.jwks_uri)
            cache.set(cache_key, jwks, timeout=METADATA_CACHE_SECONDS)
        keys = [key for key in jwks.get("keys", []) if isinstance(key, dict)]
        matching = [key for key in keys if kid is None or key.get("kid") == kid]
        if matching:
            try:
                return jwt.PyJWK(matching[0]).key
            except jwt.PyJWKError as exc:
                raise OidcFailed("the provider's signing key is unusable") from exc
        # An unknown kid may be a rotated key: fetch the set once more.
    raise OidcFailed("the id_token is signed with a key the provider does not publish")


def verify_id_token(id_token: str, *, metadata: ProviderMetadata, nonce: str) -> dict[str, Any]:
    """The id_token's claims, after checking signature, issuer, audience, expiry, nonce."""
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.InvalidTokenError as exc:
        raise OidcFailed("the id_token is malformed") from exc
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise OidcFailed(f"id_token algorithm {algorithm!r} is not accepted")
    key = _signing_key(metadata, header.get("kid"))
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key,
            algorithms=[algorithm],
            audience=auth_settings.oidc_client_id(),
            issuer=metadata.issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise OidcFailed("the id_token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise OidcFailed("the id_token failed verification") from exc
    if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise OidcFailed("the id_token's nonce does not match this sign-in")
    return claims


def _username_for(claims: dict[str, Any]) -> str:
    email = str(claims.get("email") or "")
    wanted = str(claims.get("preferred_username") or email.split("@")[0] or "oidc")
    base = _USERNAME_UNSAFE.sub("", wanted)[:100] or "oidc"
    model = get_user_model()
    candidate, suffix = base, 1
    while model.objects.filter(username__iexact=candidate).exists():
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


@transaction.atomic
def _user_for_identity(claims: dict[str, Any], issuer: str, ip: str) -> tuple[Any, bool]:
    subject = str(claims["sub"])
    identity = (
        ExternalIdentity.objects.select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    if identity is not None:
        identity.last_login_at = timezone.now()
        identity.save(update_fields=["last_login_at"])
        return identity.user, False
    role = auth_settings.oidc_default_role()
    if not role:
        raise OidcFailed("this identity has no account here, and sign-up is closed")
    user = user_create(
        username=_username_for(claims),
        role=role,
        password=None,
        email=str(claims.get("email") or "") if claims.get("email_verified") else "",
        ip=ip,
    )
    ExternalIdentity.objects.create(
        issuer=issuer,
        subject=subject,
        user=user,
        email=str(claims.get("email") or ""),
        last_login_at=timezone.now(),
    )
    return user, True


def oidc_complete(
    *, state: str, code: str, browser_state: str, ip: str = "", user_agent: str = ""
) -> OidcLogin:
    """Finish a sign-in started by :func:`oidc_begin`. Raises OidcFailed (401) for anything
    the provider or the browser got wrong, OidcProviderUnavailable (503) when it is down."""
    if not state or not browser_state or not hmac.compare_digest(state, browser_state):
        raise OidcFailed("the state does not match this browser's sign-in")
    if not code:
        raise OidcFailed("the provider sent no authorization code")
    key = _state_key(state)
    pending = cache.get(key)
    cache.delete(key)  # single use, whatever happens next
    if not isinstance(pending, dict):
        raise OidcFailed("this sign-in is unknown or expired; start again")
    metadata = provider_metadata()
    id_token = _exchange_code(metadata, code=code, pending=pending)
    claims = verify_id_token(id_token, metadata=metadata, nonce=pending["nonce"])
    user, created = _user_for_identity(claims, metadata.issuer, ip)
    if not user.is_active:
        raise AccountInactive("this account is deactivated")
    tokens = session_start(user=user, method=AuthSession.Method.OIDC, ip=ip, user_agent=user_agent)
    audit_record(
        action=AuditAction.LOGIN,
        user_id=user.pk,
        username=user.get_username(),
        target=f"session:{tokens.session_id}",
        details={"method": "oidc", "issuer": metadata.issuer},
        ip=ip,
    )
    return OidcLogin(
        user=user, tokens=tokens, next_url=str(pending.get("next") or ""), created=created
    )
