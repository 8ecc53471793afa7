"""The door of the core domain: ``ConfigApi`` (with its key registry), ``AuthApi``,
``AuditApi``, ``UsersApi`` and ``SecretsApi``, their DTOs and errors, and the notification
contract (channels, priorities, webhook signing; other domains notify through
:class:`domains.core.events.NotificationRequested`).

Other domains read and write configuration only through :func:`config_api` and learn about
changes from :class:`domains.core.events.ConfigChanged`. This module is a pure contract: no
Django, no ORM, no I/O. Its type hints are the wire contract of the remote binding, which is
why it does not use ``from __future__ import annotations``.

Reading a key for an environment returns the newest value written for that environment, else
the newest value of the ``"default"`` environment, else the key's code-declared default.
"""

import hashlib
import hmac
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from dsta.kernel import rpc
from dsta.kernel.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
)
from dsta.kernel.principal import Principal

DEFAULT_ENVIRONMENT = "default"
# Dotted lower-case names with at least a domain prefix: "trading.kill_switch".
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
KEY_MAX_LENGTH = 128
# "default", "paper", "live", "production", "eu-live"...
ENVIRONMENT_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
HISTORY_MAX_LIMIT = 1000
REASON_MAX_LENGTH = 500

ConfigSource = Literal["environment", "default", "key_default"]


# --- errors --------------------------------------------------------------------------------


class ConfigKeyUnknown(NotFound):
    """No key of that name has been declared."""

    code = "config_key_unknown"


class ConfigValueInvalid(InvalidInput):
    """The value does not match the key's JSON Schema; ``details`` lists each violation."""

    code = "config_value_invalid"


class ConfigValueTooLarge(PayloadTooLarge):
    """The value's JSON encoding is larger than a configuration value may be."""

    code = "config_value_too_large"


class ConfigVersionConflict(Conflict):
    """``expected_version`` is stale: someone wrote a newer version first."""

    code = "config_version_conflict"


class ConfigKeyNotAFlag(InvalidInput):
    """``is_enabled`` was asked about a key that is not a boolean feature flag."""

    code = "config_key_not_a_flag"


class ConfigKeyDefinitionInvalid(InvalidInput):
    """A key definition is malformed: bad name, invalid schema, or a default the schema rejects."""

    code = "config_key_definition_invalid"


class ConfigActorUnknown(InvalidInput):
    """``actor_id`` names no user."""

    code = "config_actor_unknown"


class ConfigEnvironmentInvalid(InvalidInput):
    """The environment name is not a short lower-case identifier."""

    code = "config_environment_invalid"


# --- DTOs ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ConfigKeyDefinition:
    """A key as a domain declares it in code. ``schema`` is a JSON Schema (Draft 2020-12)."""

    key: str
    description: str
    schema: dict[str, Any]
    default: Any
    is_feature_flag: bool = False
    is_secret: bool = False


@dataclass(frozen=True, kw_only=True)
class ConfigKeyInfo:
    """A key as stored by the core domain."""

    key: str
    description: str
    schema: dict[str, Any]
    default: Any
    is_feature_flag: bool
    is_secret: bool
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class ConfigEntry:
    """The effective value of a key in an environment.

    ``source`` says where the value came from: a value written for ``environment``, the
    ``"default"`` environment's value, or the key's declared default (``version`` 0, no
    ``updated_at``). ``version`` is the version of the row that supplied the value.
    """

    key: str
    environment: str
    value: Any
    version: int
    updated_at: datetime | None
    source: ConfigSource


@dataclass(frozen=True, kw_only=True)
class ConfigVersion:
    """One write of a key in one environment."""

    key: str
    environment: str
    version: int
    value: Any
    changed_by: int | None
    reason: str
    created_at: datetime


# --- the interface ---------------------------------------------------------------------------


@rpc.service("core.config")
class ConfigApi(Protocol):
    """Typed, versioned, environment-aware configuration and feature flags."""

    def get(self, *, key: str, environment: str = DEFAULT_ENVIRONMENT) -> ConfigEntry:
        """The effective value of ``key`` in ``environment`` (falls back to "default", then
        to the key's default). Raises ConfigKeyUnknown, ConfigEnvironmentInvalid."""
        ...

    def set(
        self,
        *,
        key: str,
        value: Any,
        environment: str = DEFAULT_ENVIRONMENT,
        actor_id: int | None = None,
        reason: str = "",
        expected_version: int | None = None,
    ) -> ConfigEntry:
        """Write a new version of ``key`` in ``environment`` and publish ConfigChanged in the
        same transaction. ``expected_version`` is the caller's idea of the environment's current
        version (0: no value written yet); a stale one raises ConfigVersionConflict. Raises
        ConfigKeyUnknown, ConfigValueInvalid, ConfigValueTooLarge, ConfigEnvironmentInvalid."""
        ...

    def history(
        self, *, key: str, environment: str = DEFAULT_ENVIRONMENT, limit: int = 50
    ) -> list[ConfigVersion]:
        """The writes of ``key`` in ``environment`` exactly (no fallback), newest first, at most
        ``limit`` (1..1000)."""
        ...

    def list_keys(self) -> list[ConfigKeyInfo]:
        """Every declared key, ordered by name."""
        ...

    def is_enabled(self, *, flag: str, environment: str = DEFAULT_ENVIRONMENT) -> bool:
        """The effective value of a boolean feature flag. Raises ConfigKeyNotAFlag for a key
        that is not a feature flag."""
        ...

    def define_key(self, *, definition: ConfigKeyDefinition) -> ConfigKeyInfo:
        """Create or update a key from its code declaration (idempotent). Values already
        written stay; raises ConfigKeyDefinitionInvalid for a bad name, schema or default."""
        ...


def config_api() -> ConfigApi:
    """The configuration api: the in-process implementation or the remote client."""
    return rpc.resolve(ConfigApi)


# --- the key registry ------------------------------------------------------------------------

_declared: dict[str, ConfigKeyDefinition] = {}
_declared_lock = threading.Lock()


def declare_config_key(definition: ConfigKeyDefinition) -> None:
    """Declare a key a domain uses (call from AppConfig.ready). ``config_sync`` and the
    post-migrate hook store every declared key. Declaring the same key twice with a different
    definition is a programming error."""
    with _declared_lock:
        existing = _declared.get(definition.key)
        if existing is not None and existing != definition:
            raise ConfigKeyDefinitionInvalid(
                f"config key {definition.key!r} is declared twice with different definitions"
            )
        _declared[definition.key] = definition


def declared_config_keys() -> list[ConfigKeyDefinition]:
    """Every key declared in this process, ordered by name."""
    with _declared_lock:
        return [_declared[key] for key in sorted(_declared)]


# === authentication, audit log, users ========================================================
#
# Other domains never see core's user table: a request's caller is a kernel ``Principal``
# (put on ``request.auth`` by core's DRF authentication classes), a user is an ``int`` id, and
# the audit log is appended through ``audit_api().record(...)``.

# Audit actions are dotted lower-case names like config keys: "<subject>.<verb>".
AUDIT_ACTION_PATTERN = KEY_PATTERN
AUDIT_TARGET_MAX_LENGTH = 200


class AuditAction(StrEnum):
    """The actions core records itself, and the names other domains use for theirs. Any
    dotted lower-case name is accepted; these are the ones with a meaning fixed here."""

    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOGIN_LOCKED = "auth.login_locked"
    LOGOUT = "auth.logout"
    REFRESH_REUSED = "auth.refresh_reused"
    SESSION_REVOKED = "auth.session_revoked"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    USER_CREATED = "user.created"
    USER_INVITED = "user.invited"
    USER_REGISTERED = "user.registered"
    ROLE_CHANGED = "user.role_changed"
    PREFERENCES_CHANGED = "user.preferences_changed"
    CONFIG_CHANGED = "config.changed"
    SECRET_READ = "secret.read"  # noqa: S105 (an action name, not a secret)
    ORDER_PLACED = "order.placed"
    ORDER_CANCELLED = "order.cancelled"
    RISK_LIMIT_CHANGED = "risk.limit_changed"
    CIRCUIT_BREAKER_TRIPPED = "circuit_breaker.tripped"


NotificationChannel = Literal["in_app", "email", "telegram", "webhook"]


# --- errors ----------------------------------------------------------------------------------


class InvalidCredentials(Unauthenticated):
    """Wrong username or password (which one is not said)."""

    code = "invalid_credentials"


class AccountInactive(Unauthenticated):
    """The user exists but is deactivated."""

    code = "account_inactive"


class TokenInvalid(Unauthenticated):
    """A token that is malformed, forged (bad signature), of the wrong type or issuer."""

    code = "token_invalid"


class TokenExpired(Unauthenticated):
    """A genuine token past its expiry."""

    code = "token_expired"


class TokenRevoked(Unauthenticated):
    """A genuine token whose login session was revoked (logout, revoke, refresh reuse)."""

    code = "token_revoked"


class ApiKeyInvalid(Unauthenticated):
    """An API key that does not exist or does not match."""

    code = "api_key_invalid"


class ApiKeyExpired(Unauthenticated):
    """An API key past its expiry."""

    code = "api_key_expired"


class ApiKeyRevoked(Unauthenticated):
    """An API key that was revoked."""

    code = "api_key_revoked"


class LoginLocked(RateLimited):
    """Too many failed logins for this username from this address; ``details.retry_after``
    says in how many seconds the cool-off ends."""

    code = "login_locked"


class ScopeNotAllowed(Forbidden):
    """An API key asked for a scope its creator's credential does not carry."""

    code = "scope_not_allowed"


class InviteInvalid(InvalidInput):
    """An invite token that does not exist, expired or was already used."""

    code = "invite_invalid"


class UsernameTaken(Conflict):
    """Another user has that username."""

    code = "username_taken"


class PasswordRejected(InvalidInput):
    """The password fails the password validators; ``details.problems`` lists why."""

    code = "password_rejected"


class PreferencesInvalid(InvalidInput):
    """A preferences document with unknown fields or invalid values (``details.problems``)."""

    code = "preferences_invalid"


class AuditActionInvalid(InvalidInput):
    """An audit action that is not a dotted lower-case name."""

    code = "audit_action_invalid"


class UserUnknown(NotFound):
    """No user has that id."""

    code = "user_unknown"


class OidcNotConfigured(NotFound):
    """OpenID Connect sign-in is off (no issuer configured)."""

    code = "oidc_not_configured"


class OidcFailed(Unauthenticated):
    """The identity provider's answer was refused: bad state, code, signature, nonce..."""

    code = "oidc_failed"


class OidcProviderUnavailable(ServiceUnavailable):
    """The identity provider could not be reached or answered garbage."""

    code = "oidc_provider_unavailable"


# --- DTOs ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One entry of the append-only audit log. ``user_id`` is whose account the entry belongs
    to (the actor, or the account a failed login aimed at); ``source`` the domain that wrote it.
    """

    id: int
    occurred_at: datetime
    action: str
    user_id: int | None
    username: str
    target: str
    details: dict[str, Any]
    ip: str
    source: str


class QuietHours(BaseModel):
    """A daily window (in the user's timezone) when non-critical notifications wait.
    ``start`` after ``end`` wraps midnight: 22:00-07:00."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM, 24-hour")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM, 24-hour")


class UserPreferences(BaseModel):
    """A user's preferences: every field has a default, unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = Field(default="UTC", max_length=64, description="IANA name: Europe/Berlin")
    default_venue: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9_]{0,31}$", description="binance, gateio, htx..."
    )
    notification_channels: tuple[NotificationChannel, ...] = Field(
        default=("in_app",), max_length=4, description="Where notifications go, in order."
    )
    quiet_hours: QuietHours | None = None


@dataclass(frozen=True, kw_only=True)
class UserProfile:
    """A user as other domains may see one. ``role`` is the highest role held."""

    user_id: int
    username: str
    email: str
    first_name: str
    last_name: str
    roles: tuple[str, ...]
    role: str | None
    is_active: bool
    date_joined: datetime
    last_login: datetime | None
    preferences: UserPreferences


# --- the interfaces --------------------------------------------------------------------------


@rpc.service("core.auth")
class AuthApi(Protocol):
    """Turns a credential into the principal behind it (every domain's authentication)."""

    def validate(self, *, authorization: str) -> Principal:
        """The principal of an ``Authorization`` header value: ``Bearer <access token>`` or
        ``Api-Key <key>``. Raises TokenInvalid, TokenExpired, TokenRevoked, ApiKeyInvalid,
        ApiKeyExpired, ApiKeyRevoked or AccountInactive (all 401)."""
        ...


@rpc.service("core.audit")
class AuditApi(Protocol):
    """The append-only audit log of security- and trading-relevant actions."""

    def record(
        self,
        *,
        action: str,
        user_id: int | None = None,
        target: str = "",
        details: dict[str, Any] | None = None,
        ip: str = "",
        source: str = "",
    ) -> AuditRecord:
        """Append one entry. ``action`` is a dotted name (see AuditAction), ``target`` what it
        acted on ("order:42"), ``details`` JSON that must hold no secret, ``source`` the
        calling domain. Raises AuditActionInvalid, InvalidInput."""
        ...


@rpc.service("core.users")
class UsersApi(Protocol):
    """Users as other domains may see them: profile and preferences, by id."""

    def get_profile(self, *, user_id: int) -> UserProfile:
        """The user's profile with preferences. Raises UserUnknown."""
        ...

    def get_preferences(self, *, user_id: int) -> UserPreferences:
        """The user's preferences (defaults when never set). Raises UserUnknown."""
        ...


def auth_api() -> AuthApi:
    """The authentication api: in-process or the remote core."""
    return rpc.resolve(AuthApi)


def audit_api() -> AuditApi:
    """The audit log api: in-process or the remote core."""
    return rpc.resolve(AuditApi)


def users_api() -> UsersApi:
    """The users api: in-process or the remote core."""
    return rpc.resolve(UsersApi)


# === secrets ===================================================================================
#
# Secrets (exchange credentials, webhook signing keys, ...) are encrypted at rest and
# write-only: the REST API, the admin and the command set, replace and delete them and show
# metadata. Plaintext leaves core only through ``SecretsApi.reveal``, which only the exchange
# domain may call; every reveal is recorded in the audit log.

# "binance.api_key", "exchange/binance/main": lower-case segments separated by "/".
SECRET_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*$")
SECRET_KEY_MAX_LENGTH = 128
SecretKind = Literal["exchange_credentials", "generic"]
SECRET_KINDS: tuple[SecretKind, ...] = ("exchange_credentials", "generic")
# The fields of each kind; the first ones are required. A generic secret is one "value".
EXCHANGE_CREDENTIAL_FIELDS = ("api_key", "secret", "passphrase")
EXCHANGE_CREDENTIAL_REQUIRED = ("api_key", "secret")
GENERIC_SECRET_FIELD = "value"  # noqa: S105 (a field name, not a password)
SECRET_FIELD_MAX_CHARS = 16 * 1024
# The domains whose code may call SecretsApi.reveal (checked against the calling code).
REVEAL_CALLERS = frozenset({"exchange"})


class SecretNotFound(NotFound):
    """No secret of that key for that owner (another user's secret answers the same)."""

    code = "secret_not_found"


class SecretInvalid(InvalidInput):
    """A malformed key, an unknown kind, or a value of the wrong shape; ``details`` says."""

    code = "secret_invalid"


class SecretVersionConflict(Conflict):
    """``expected_version`` is stale: the secret was replaced (or created) meanwhile."""

    code = "secret_version_conflict"


class SecretRevealForbidden(Forbidden):
    """The calling code may not read plaintext secrets (only the exchange domain may)."""

    code = "secret_reveal_forbidden"


class SecretUndecryptable(ServiceUnavailable):
    """The stored ciphertext cannot be decrypted with the configured keys (a key was dropped
    from ``DSTA_SECRETS_KEYS`` before ``rotate_secrets`` ran) or belongs to another row."""

    code = "secret_undecryptable"


@dataclass(frozen=True, kw_only=True)
class SecretInfo:
    """What may be known about a secret without reading it: never the value."""

    owner_id: int
    key: str
    kind: SecretKind
    fields: tuple[str, ...]
    version: int
    created_at: datetime
    updated_at: datetime
    last_read_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class SecretValue:
    """A revealed secret. ``fields`` holds the plaintext (``api_key``/``secret``/``passphrase``
    for exchange credentials, ``value`` for a generic secret); it is left out of ``repr`` so
    an accidental log line shows the key, not the value."""

    owner_id: int
    key: str
    kind: SecretKind
    version: int
    fields: dict[str, str] = field(repr=False)

    @property
    def api_key(self) -> str:
        """The exchange API key (exchange credentials)."""
        return self.fields["api_key"]

    @property
    def secret(self) -> str:
        """The exchange API secret (exchange credentials)."""
        return self.fields["secret"]

    @property
    def passphrase(self) -> str | None:
        """The exchange passphrase, where the venue uses one (exchange credentials)."""
        return self.fields.get("passphrase")

    @property
    def value(self) -> str:
        """The value of a generic secret."""
        return self.fields[GENERIC_SECRET_FIELD]


@rpc.service("core.secrets")
class SecretsApi(Protocol):
    """Encrypted, per-user secrets. Plaintext leaves core only through ``reveal``."""

    def reveal(self, *, owner_id: int, key: str, caller: str) -> SecretValue:
        """The plaintext of ``owner_id``'s secret ``key``, for the exchange domain only.

        ``caller`` is the calling domain's name (``"exchange"``); it must be in
        REVEAL_CALLERS and match the domain of the code that really calls (in-process: the
        calling module; remote: the calling process's service identity), else
        SecretRevealForbidden. Every reveal stamps ``last_read_at`` and is recorded in the
        audit log (``secret.read``; a refusal as ``secret.reveal_refused``). Raises SecretNotFound,
        SecretUndecryptable."""
        ...

    def list_secrets(self, *, owner_id: int) -> list[SecretInfo]:
        """Metadata of every secret of ``owner_id``, ordered by key: never a value."""
        ...


def secrets_api() -> SecretsApi:
    """The secrets api: the in-process implementation or the remote client."""
    return rpc.resolve(SecretsApi)


# === notifications =============================================================================
#
# Other domains notify users by publishing ``domains.core.events.NotificationRequested``.

# NotificationChannel ("in_app", "email", "telegram", "webhook") is declared with the user
# preferences above.
CHANNELS: tuple[NotificationChannel, ...] = ("in_app", "email", "telegram", "webhook")
NotificationPriority = Literal["low", "normal", "high", "critical"]
PRIORITIES: tuple[NotificationPriority, ...] = ("low", "normal", "high", "critical")
# Template and dedupe-key names: "order_filled", "risk.limit-breached".
NOTIFICATION_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
DEDUPE_KEY_MAX_LENGTH = 200
SUBJECT_MAX_CHARS = 300
BODY_MAX_CHARS = 20_000
# The generic secret of a user that signs the webhooks sent to them (set it through the
# secrets API; the receiver keeps the same value to verify).
WEBHOOK_SIGNING_SECRET_KEY = "notifications.webhook_signing_key"  # noqa: S105 (a name)
WEBHOOK_SIGNATURE_HEADER = "X-DSTA-Signature"
WEBHOOK_TIMESTAMP_HEADER = "X-DSTA-Timestamp"
WEBHOOK_TOLERANCE_SECONDS = 300


class NotificationInvalid(InvalidInput):
    """A notification request that cannot be sent as asked; ``details`` says why."""

    code = "notification_invalid"


class NotificationChannelUnknown(InvalidInput):
    """A channel that is not one of CHANNELS."""

    code = "notification_channel_unknown"


class NotificationTemplateInvalid(InvalidInput):
    """The template does not compile, or uses a tag notification templates do not allow."""

    code = "notification_template_invalid"


class NotificationTemplateVariablesInvalid(InvalidInput):
    """Variables missing for a template, or given but not used by it (``details``)."""

    code = "notification_template_variables_invalid"


class NotificationTemplateNotFound(NotFound):
    """No template of that name is visible to the user."""

    code = "notification_template_not_found"


class NotificationTemplateExists(Conflict):
    """A template of that name already exists (replace it with PUT)."""

    code = "notification_template_exists"


def sign_webhook(*, secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-DSTA-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of ``"<timestamp>.<body>"``
    keyed with the user's webhook signing secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_webhook_signature(
    *,
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    tolerance_seconds: int = WEBHOOK_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """For webhook receivers: True when ``signature`` (the X-DSTA-Signature header) is ours
    for the raw ``body`` and ``timestamp`` (the X-DSTA-Timestamp header), and the timestamp is
    within ``tolerance_seconds`` of ``now`` (replayed old deliveries are refused). Compares in
    constant time. Needs only the standard library: receivers may copy it."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_seconds:
        return False
    expected = sign_webhook(secret=secret, timestamp=sent_at, body=body)
    return hmac.compare_digest(expected.encode(), str(signature).encode())
