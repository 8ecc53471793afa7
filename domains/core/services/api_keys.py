"""API keys: created once (the key is shown then and never again), stored as a SHA-256 hash,
scoped, optionally expiring, revocable, with a last-used time written at most once a minute.

A key looks like ``dsta_<12 hex prefix>_<43 url-safe characters>`` (256 random bits). The
prefix finds the row; the hash of the whole key is compared in constant time.
"""

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from domains.core.api import (
    AccountInactive,
    ApiKeyExpired,
    ApiKeyInvalid,
    ApiKeyRevoked,
    AuditAction,
    ScopeNotAllowed,
)
from domains.core.models import ApiKey
from domains.core.services import auth_settings
from domains.core.services.audit import audit_record
from domains.core.services.roles import user_roles
from dsta.kernel.errors import InvalidInput, NotFound
from dsta.kernel.principal import SCOPES, Principal, scopes_for_roles

KEY_PATTERN = re.compile(r"^dsta_(?P<prefix>[0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
NAME_MAX_LENGTH = 100


def hash_key(key: str) -> str:
    """SHA-256 of the whole key, hex: what the database keeps."""
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    prefix = secrets.token_hex(6)
    return prefix, f"dsta_{prefix}_{secrets.token_urlsafe(32)}"


def _check_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    if not scopes:
        raise InvalidInput("an API key needs at least one scope", details={"field": "scopes"})
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidInput(
            f"unknown scopes {unknown}; scopes are {', '.join(SCOPES)}",
            details={"field": "scopes", "unknown": unknown},
        )
    return tuple(scope for scope in SCOPES if scope in scopes)


def api_key_create(
    *,
    user_id: int,
    scopes: list[str] | tuple[str, ...],
    name: str = "",
    expires_at: datetime | None = None,
    creator_scopes: tuple[str, ...] | None = None,
    ip: str = "",
) -> tuple[ApiKey, str]:
    """Create a key for ``user_id``; returns the row and the key (shown once, never stored).

    The key's scopes must be carried by the user's roles and, when given, by the credential
    creating it (``creator_scopes``: an API key cannot mint a broader key). Raises
    InvalidInput, ScopeNotAllowed, NotFound.
    """
    wanted = _check_scopes(scopes)
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"name is longer than {NAME_MAX_LENGTH} characters")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("expires_at must be in the future", details={"field": "expires_at"})
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(f"no user {user_id}")
    allowed = set(scopes_for_roles(user_roles(user)))
    if creator_scopes is not None:
        allowed &= set(creator_scopes)
    refused = [scope for scope in wanted if scope not in allowed]
    if refused:
        raise ScopeNotAllowed(
            f"this credential may not grant the scopes {refused}",
            details={"refused": refused, "allowed": sorted(allowed)},
        )
    prefix, key = _new_key()
    row = ApiKey.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        key_hash=hash_key(key),
        scopes=list(wanted),
        expires_at=expires_at,
    )
    audit_record(
        action=AuditAction.API_KEY_CREATED,
        user_id=user.pk,
        username=user.get_username(),
        target=f"api_key:{row.pk}",
        details={
            "prefix": prefix,
            "scopes": list(wanted),
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
        ip=ip,
    )
    return row, key


def api_key_authenticate(key: str) -> Principal:
    """The principal of an API key: the owner's roles, the key's scopes (narrowed to what
    those roles carry). Raises ApiKeyInvalid, ApiKeyRevoked, ApiKeyExpired, AccountInactive."""
    match = KEY_PATTERN.match(key)
    if match is None:
        raise ApiKeyInvalid("malformed API key")
    # order_by(): no ORDER BY for a unique-key lookup (this runs on every request).
    found = list(
        ApiKey.objects.select_related("user").filter(prefix=match["prefix"]).order_by()[:1]
    )
    row = found[0] if found else None
    # Hash and compare even when no row matched, so both paths cost the same.
    stored = row.key_hash if row is not None else "0" * 64
    if not hmac.compare_digest(hash_key(key), stored) or row is None:
        raise ApiKeyInvalid("unknown API key")
    now = timezone.now()
    if row.revoked_at is not None:
        raise ApiKeyRevoked("this API key was revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise ApiKeyExpired("this API key has expired")
    if not row.user.is_active:
        raise AccountInactive("this account is deactivated")
    _touch(row, now)
    roles = user_roles(row.user)
    carried = set(scopes_for_roles(roles))
    return Principal(
        user_id=row.user_id,
        username=row.user.get_username(),
        roles=roles,
        scopes=tuple(scope for scope in row.scopes if scope in carried),
        via="api_key",
        credential_id=str(row.pk),
    )


def _touch(row: ApiKey, now: datetime) -> None:
    """Record use at most once per interval: a conditional UPDATE, no write on most requests."""
    interval = timedelta(seconds=auth_settings.api_key_last_used_interval_seconds())
    if row.last_used_at is not None and now - row.last_used_at < interval:
        return
    ApiKey.objects.filter(pk=row.pk).exclude(last_used_at__gt=now - interval).update(
        last_used_at=now
    )


def api_key_get(*, key_id: uuid.UUID | str, user_id: int) -> ApiKey:
    """The user's key ``key_id``; NotFound for another user's key or a malformed id."""
    try:
        return ApiKey.objects.get(pk=key_id, user_id=user_id)
    except (ApiKey.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFound("no such API key") from exc


def api_key_revoke(*, key: ApiKey, actor_id: int | None, ip: str = "") -> ApiKey:
    """Revoke ``key`` (idempotent: revoking a revoked key changes nothing)."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(
            action=AuditAction.API_KEY_REVOKED,
            user_id=key.user_id,
            target=f"api_key:{key.pk}",
            details={"prefix": key.prefix, "revoked_by": actor_id},
            ip=ip,
        )
    return key


def api_keys_of(*, user_id: int) -> list[ApiKey]:
    """The user's keys (revoked and expired ones too), newest first."""
    return list(ApiKey.objects.filter(user_id=user_id).order_by("-created_at"))


def api_key_state(key: ApiKey, now: datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= (now or timezone.now()):
        return "expired"
    return "active"


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s`` or ``2w`` as a timedelta; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([smhdw])\s*", text)
    if match is None:
        raise ValueError(f"not a duration like 30d, 12h or 90m: {text!r}")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    amount = int(match[1])
    if amount <= 0:
        raise ValueError("a duration must be positive")
    return timedelta(**{unit[match[2]]: amount})


def describe_key(key: ApiKey) -> dict[str, Any]:
    """A key as the API and the command show it: never the key, never the hash."""
    return {
        "id": key.pk,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "created_at": key.created_at,
        "expires_at": key.expires_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
        "state": api_key_state(key),
    }
