"""Users: creation with a role (admin, command, invite), profile and preferences.

Passwords go through Django's validators and are hashed with the first of PASSWORD_HASHERS
(Argon2id). Invite tokens are single-use; only their SHA-256 hash is stored.
"""

import hashlib
import secrets
import zoneinfo
from datetime import timedelta
from functools import lru_cache
from typing import Any, cast

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Field
from django.utils import timezone
from pydantic import ValidationError as PydanticValidationError

from domains.core.api import (
    AuditAction,
    InviteInvalid,
    PasswordRejected,
    PreferencesInvalid,
    UsernameTaken,
    UserPreferences,
    UserProfile,
    UsersApi,
    UserUnknown,
)
from domains.core.models import UserInvite
from domains.core.models import UserProfile as UserProfileRow
from domains.core.services import auth_settings
from domains.core.services.audit import audit_record
from domains.core.services.roles import check_role, highest_role, user_roles, user_set_role
from dsta.kernel.errors import InvalidInput

USERNAME_MAX_LENGTH = 150


def _check_password(password: str, user: Any) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise PasswordRejected(
            "the password was rejected", details={"problems": list(exc.messages)}
        ) from exc


def _check_username(username: str) -> str:
    username = username.strip()
    model = get_user_model()
    field = cast("Field[Any, Any]", model._meta.get_field(model.USERNAME_FIELD))
    try:
        field.run_validators(username)
    except ValidationError as exc:
        raise InvalidInput(
            "invalid username", details={"field": "username", "problems": exc.messages}
        ) from exc
    if not username or len(username) > USERNAME_MAX_LENGTH:
        raise InvalidInput("a username has 1 to 150 characters", details={"field": "username"})
    if model.objects.filter(username__iexact=username).exists():
        raise UsernameTaken(f"the username {username!r} is taken")
    return username


@transaction.atomic
def user_create(
    *,
    username: str,
    role: str,
    password: str | None,
    email: str = "",
    actor_id: int | None = None,
    ip: str = "",
    audit_action: str = AuditAction.USER_CREATED,
) -> Any:
    """Create an active user holding ``role``. ``password`` None leaves it unusable (OIDC
    users). Raises InvalidInput, UsernameTaken, PasswordRejected, ValueError (bad role)."""
    check_role(role)
    username = _check_username(username)
    model = get_user_model()
    user = model(username=username, email=email)
    if password is None:
        user.set_unusable_password()
    else:
        _check_password(password, user)
        user.set_password(password)
    try:
        user.save()
    except IntegrityError as exc:  # a concurrent registration took the name first
        raise UsernameTaken(f"the username {username!r} is taken") from exc
    user_set_role(user=user, role=role)
    audit_record(
        action=audit_action,
        user_id=user.pk,
        username=username,
        target=f"user:{user.pk}",
        details={"role": role, "created_by": actor_id},
        ip=ip,
    )
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_create(
    *, role: str, email: str = "", actor_id: int | None, ip: str = ""
) -> tuple[UserInvite, str]:
    """A single-use invite granting ``role``; returns the row and the token (shown once)."""
    check_role(role)
    token = secrets.token_urlsafe(32)
    invite = UserInvite.objects.create(
        token_hash=_hash_token(token),
        role=role,
        email=email,
        created_by_id=actor_id,
        expires_at=timezone.now() + timedelta(seconds=auth_settings.invite_ttl_seconds()),
    )
    audit_record(
        action=AuditAction.USER_INVITED,
        user_id=actor_id,
        target=f"invite:{invite.pk}",
        details={"role": role, "email": email},
        ip=ip,
    )
    return invite, token


@transaction.atomic
def invite_register(
    *, token: str, username: str, password: str, email: str = "", ip: str = ""
) -> Any:
    """Create a user from an invite and spend the invite. Raises InviteInvalid (unknown,
    used or expired: one answer, so tokens cannot be probed), plus user_create's errors."""
    # The token is 256 random bits: looking its hash up by equality leaks nothing usable.
    invite = UserInvite.objects.select_for_update().filter(token_hash=_hash_token(token)).first()
    if invite is None or invite.used_at is not None or invite.expires_at <= timezone.now():
        raise InviteInvalid("this invite is unknown, used or expired")
    user = user_create(
        username=username,
        role=invite.role,
        password=password,
        email=email or invite.email,
        actor_id=invite.created_by_id,
        ip=ip,
        audit_action=AuditAction.USER_REGISTERED,
    )
    invite.used_at = timezone.now()
    invite.used_by = user
    invite.save(update_fields=["used_at", "used_by"])
    return user


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def preferences_validate(document: Any) -> UserPreferences:
    """A preferences document checked field by field; raises PreferencesInvalid listing
    every problem (``{"path", "message"}``)."""
    if not isinstance(document, dict):
        raise PreferencesInvalid(
            "preferences must be a JSON object",
            details={"problems": [{"path": "$", "message": "not an object"}]},
        )
    try:
        preferences = UserPreferences.model_validate(document)
    except PydanticValidationError as exc:
        problems = [
            {
                "path": "$" + "".join(f".{part}" for part in error["loc"]),
                "message": error["msg"],
            }
            for error in exc.errors(include_input=False, include_url=False)
        ]
        raise PreferencesInvalid("invalid preferences", details={"problems": problems}) from exc
    if preferences.timezone not in _timezones():
        raise PreferencesInvalid(
            "invalid preferences",
            details={"problems": [{"path": "$.timezone", "message": "unknown IANA timezone"}]},
        )
    if len(set(preferences.notification_channels)) != len(preferences.notification_channels):
        raise PreferencesInvalid(
            "invalid preferences",
            details={
                "problems": [
                    {"path": "$.notification_channels", "message": "a channel is listed twice"}
                ]
            },
        )
    return preferences


def preferences_get(*, user_id: int) -> UserPreferences:
    """The stored preferences (defaults for fields never set, or for a user never saved)."""
    stored = (
        UserProfileRow.objects.filter(user_id=user_id).values_list("preferences", flat=True)
    ).first()
    if stored is None:
        if not get_user_model().objects.filter(pk=user_id).exists():
            raise UserUnknown(f"no user {user_id}")
        return UserPreferences()
    try:
        return UserPreferences.model_validate(stored)
    except PydanticValidationError:
        # A document stored under older rules: defaults beat a 500 on every read.
        return UserPreferences()


def preferences_set(*, user_id: int, document: Any, ip: str = "") -> UserPreferences:
    """Replace the user's preferences with a validated document (missing fields take their
    defaults). Raises PreferencesInvalid, UserUnknown."""
    preferences = preferences_validate(document)
    if not get_user_model().objects.filter(pk=user_id).exists():
        raise UserUnknown(f"no user {user_id}")
    stored = preferences.model_dump(mode="json")
    UserProfileRow.objects.update_or_create(user_id=user_id, defaults={"preferences": stored})
    audit_record(
        action=AuditAction.PREFERENCES_CHANGED,
        user_id=user_id,
        target=f"user:{user_id}",
        details={"fields": sorted(document)},
        ip=ip,
    )
    return preferences


def profile_get(*, user_id: int) -> UserProfile:
    """The user's profile DTO. Raises UserUnknown."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise UserUnknown(f"no user {user_id}")
    roles = user_roles(user)
    return UserProfile(
        user_id=user.pk,
        username=user.get_username(),
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        roles=roles,
        role=highest_role(roles),
        is_active=user.is_active,
        date_joined=user.date_joined,
        last_login=user.last_login,
        preferences=preferences_get(user_id=user.pk),
    )


class UsersService(UsersApi):
    """See UsersApi."""

    def get_profile(self, *, user_id: int) -> UserProfile:
        """See UsersApi.get_profile."""
        return profile_get(user_id=user_id)

    def get_preferences(self, *, user_id: int) -> UserPreferences:
        """See UsersApi.get_preferences."""
        return preferences_get(user_id=user_id)


def user_change_role(*, user: Any, role: str, actor_id: int | None, ip: str = "") -> None:
    """Give ``user`` the role ``role`` (their only one) and audit the change. Their open token
    sessions keep the old roles until their next refresh (at most one access-token lifetime).
    """
    before = highest_role(user_roles(user))
    user_set_role(user=user, role=role)
    audit_record(
        action=AuditAction.ROLE_CHANGED,
        user_id=user.pk,
        username=user.get_username(),
        target=f"user:{user.pk}",
        details={"from": before, "to": role, "changed_by": actor_id},
        ip=ip,
    )
