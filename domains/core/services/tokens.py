"""JWT access and refresh tokens, and the login sessions that own them.

- An **access token** (HS256, ``typ=access``, default 5 minutes) names its user (``sub``),
  username, roles and login session (``sid``). Validating one checks the signature, expiry,
  issuer and type, then that the session is not revoked and the user is active (one indexed
  query), so logout and revoke take effect at once. Roles are those of the last refresh.
- A **refresh token** (``typ=refresh``, default 14 days, sliding) is single-use: refreshing
  returns a new pair and makes the old refresh token invalid. Presenting an already-used
  refresh token means it leaked: the whole session is revoked (reuse detection).
"""

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from domains.core.api import (
    AccountInactive,
    AuditAction,
    TokenExpired,
    TokenInvalid,
    TokenRevoked,
)
from domains.core.models import AuthSession
from domains.core.services import auth_settings
from domains.core.services.audit import audit_record
from domains.core.services.roles import user_roles
from dsta.kernel.principal import Principal, scopes_for_roles

ALGORITHM = "HS256"
ACCESS, REFRESH = "access", "refresh"
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "sub", "sid", "jti", "typ"]


@dataclass(frozen=True, kw_only=True)
class IssuedTokens:
    """A token pair, as the login and refresh endpoints return it."""

    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    session_id: uuid.UUID


def _encode(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, auth_settings.jwt_signing_key(), algorithm=ALGORITHM)


def decode_token(token: str, *, expected_type: str) -> dict[str, Any]:
    """The claims of a token we issued. Raises TokenExpired for a genuine expired token and
    TokenInvalid for anything else wrong (malformed, forged, wrong issuer or type)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            auth_settings.jwt_signing_key(),
            algorithms=[ALGORITHM],
            issuer=auth_settings.jwt_issuer(),
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired(f"the {expected_type} token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenInvalid(f"the {expected_type} token is not valid") from exc
    if claims.get("typ") != expected_type:
        raise TokenInvalid(f"not a {expected_type} token")
    return claims


def _issue(*, user: Any, session: AuthSession, now: datetime) -> IssuedTokens:
    roles = list(user_roles(user))
    access_expires = now + timedelta(seconds=auth_settings.access_ttl_seconds())
    common = {"iss": auth_settings.jwt_issuer(), "sub": str(user.pk), "sid": str(session.pk)}
    access = _encode(
        {
            **common,
            "typ": ACCESS,
            "jti": uuid.uuid4().hex,
            "iat": int(now.timestamp()),
            "exp": int(access_expires.timestamp()),
            "name": user.get_username(),
            "roles": roles,
        }
    )
    refresh = _encode(
        {
            **common,
            "typ": REFRESH,
            "jti": session.refresh_jti,
            "iat": int(now.timestamp()),
            "exp": int(session.expires_at.timestamp()),
        }
    )
    return IssuedTokens(
        access=access,
        refresh=refresh,
        access_expires_at=access_expires,
        refresh_expires_at=session.expires_at,
        session_id=session.pk,
    )


def session_start(
    *, user: Any, method: str = AuthSession.Method.PASSWORD, ip: str = "", user_agent: str = ""
) -> IssuedTokens:
    """Open a login session for ``user`` and issue its first token pair."""
    now = timezone.now()
    session = AuthSession.objects.create(
        user=user,
        method=method,
        refresh_jti=secrets.token_hex(16),
        expires_at=now + timedelta(seconds=auth_settings.refresh_ttl_seconds()),
        ip=ip or None,
        user_agent=user_agent,
    )
    return _issue(user=user, session=session, now=now)


def access_token_validate(token: str) -> Principal:
    """The principal of an access token. Raises TokenInvalid, TokenExpired, TokenRevoked,
    AccountInactive."""
    claims = decode_token(token, expected_type=ACCESS)
    try:
        user_id = int(claims["sub"])
        session_id = uuid.UUID(str(claims["sid"]))
    except (TypeError, ValueError) as exc:
        raise TokenInvalid("the access token is not valid") from exc
    # order_by(): no ORDER BY for a primary-key lookup (this runs on every request).
    rows = list(
        AuthSession.objects.filter(pk=session_id)
        .order_by()
        .values_list("user_id", "revoked_at", "user__is_active")[:1]
    )
    row = rows[0] if rows else None
    if row is None or row[0] != user_id:
        raise TokenInvalid("the access token names no session of its user")
    if row[1] is not None:
        raise TokenRevoked("the session of this token was revoked")
    if not row[2]:
        raise AccountInactive("this account is deactivated")
    roles = tuple(str(role) for role in claims.get("roles") or ())
    return Principal(
        user_id=user_id,
        username=str(claims.get("name") or ""),
        roles=roles,
        scopes=scopes_for_roles(roles),
        via="jwt",
        credential_id=str(session_id),
    )


def session_refresh(*, refresh_token: str, ip: str = "", user_agent: str = "") -> IssuedTokens:
    """Rotate: a new token pair for a valid refresh token, whose reuse is then refused.
    Reusing an old refresh token revokes its session. Raises TokenInvalid, TokenExpired,
    TokenRevoked, AccountInactive."""
    claims = decode_token(refresh_token, expected_type=REFRESH)
    try:
        session_id = uuid.UUID(str(claims["sid"]))
    except ValueError as exc:
        raise TokenInvalid("the refresh token is not valid") from exc
    reused = False
    with transaction.atomic():
        session = (
            AuthSession.objects.select_for_update()
            .select_related("user")
            .filter(pk=session_id)
            .first()
        )
        if session is None or str(session.user_id) != str(claims["sub"]):
            raise TokenInvalid("the refresh token names no session of its user")
        if session.revoked_at is not None:
            raise TokenRevoked("this session was revoked; sign in again")
        now = timezone.now()
        if session.expires_at <= now:
            raise TokenExpired("this session has expired; sign in again")
        if not hmac.compare_digest(str(claims["jti"]), session.refresh_jti):
            # A genuine but superseded refresh token: it was used before, so it leaked.
            _revoke(session, reason="refresh_reused", now=now)
            reused = True
        else:
            if not session.user.is_active:
                raise AccountInactive("this account is deactivated")
            session.refresh_jti = secrets.token_hex(16)
            session.refreshed_at = now
            session.expires_at = now + timedelta(seconds=auth_settings.refresh_ttl_seconds())
            session.ip = ip or session.ip
            session.user_agent = user_agent or session.user_agent
            session.save(
                update_fields=["refresh_jti", "refreshed_at", "expires_at", "ip", "user_agent"]
            )
            return _issue(user=session.user, session=session, now=now)
    # Outside the transaction, so the revocation is committed before the caller sees 401.
    if reused:
        audit_record(
            action=AuditAction.REFRESH_REUSED,
            user_id=session.user_id,
            target=f"session:{session.pk}",
            ip=ip,
        )
    raise TokenRevoked("this refresh token was already used; the session is revoked")


def _revoke(session: AuthSession, *, reason: str, now: datetime | None = None) -> bool:
    """Revoke one session; False when it already was."""
    updated = AuthSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now(), revoked_reason=reason
    )
    return bool(updated)


def session_revoke(*, session_id: uuid.UUID | str, user_id: int, reason: str) -> bool:
    """Revoke the session ``session_id`` of ``user_id``; False when it is not theirs, does not
    exist or was revoked already."""
    try:
        session = AuthSession.objects.get(pk=session_id, user_id=user_id)
    # A malformed id names nothing, like an unknown one.
    except (AuthSession.DoesNotExist, ValueError, TypeError, ValidationError):
        return False
    return _revoke(session, reason=reason)


def sessions_revoke_all(*, user_id: int, reason: str) -> int:
    """Revoke every open session of a user (password change, deactivation); how many."""
    return AuthSession.objects.filter(user_id=user_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )


def sessions_active(*, user_id: int) -> list[AuthSession]:
    """The user's sessions that are neither revoked nor expired, newest first."""
    return list(
        AuthSession.objects.filter(
            user_id=user_id, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).order_by("-created_at")
    )
