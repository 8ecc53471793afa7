"""ORM models of the core domain: configuration keys and their versioned values; login
sessions, API keys, invites, external identities, user profiles and the audit log; encrypted
secrets; notification templates, preferences, notifications and their delivery logs."""

import uuid
from typing import Any, NoReturn

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from domains.core.api import (
    AUDIT_TARGET_MAX_LENGTH,
    CHANNELS,
    DEDUPE_KEY_MAX_LENGTH,
    ENVIRONMENT_PATTERN,
    KEY_MAX_LENGTH,
    KEY_PATTERN,
    NOTIFICATION_NAME_PATTERN,
    PRIORITIES,
    REASON_MAX_LENGTH,
    SECRET_KEY_MAX_LENGTH,
    SECRET_KEY_PATTERN,
    SUBJECT_MAX_CHARS,
)
from dsta.kernel.principal import ROLES


class ConfigKey(models.Model):
    """A typed configuration key, declared in code and synced here (see ``config_sync``)."""

    key = models.CharField(
        max_length=KEY_MAX_LENGTH,
        unique=True,
        validators=[RegexValidator(KEY_PATTERN, "dotted lower-case name, e.g. trading.halt")],
    )
    description = models.TextField(blank=True)
    # A JSON Schema (Draft 2020-12) every value must match; checked when the key is defined.
    schema = models.JSONField(default=dict)
    default = models.JSONField(null=True, blank=True)
    is_feature_flag = models.BooleanField(default=False)
    is_secret = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class ConfigValue(models.Model):
    """One immutable version of a key's value in one environment.

    Versions count 1, 2, 3... per (key, environment); a write never changes a row, it adds one.
    """

    config_key = models.ForeignKey(ConfigKey, on_delete=models.PROTECT, related_name="values")
    environment = models.CharField(
        max_length=32,
        validators=[RegexValidator(ENVIRONMENT_PATTERN, "lower-case name, e.g. paper")],
    )
    version = models.PositiveIntegerField()
    value = models.JSONField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["config_key__key", "environment", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["config_key", "environment", "version"],
                # Also the index that "newest version of a key in an environment" reads use.
                name="core_configvalue_unique_version",
            ),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="core_configvalue_version_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.config_key.key}@{self.environment} v{self.version}"


# === authentication, API keys, users, audit log ==============================================

ROLE_CHOICES = [(role, role) for role in ROLES]


class AuthSession(models.Model):
    """One sign-in (password or OIDC): the family of the refresh tokens it issued.

    Only the newest refresh token (``refresh_jti``) is valid; presenting an older one means it
    leaked, and revokes the whole session. Every access token names its session, so revoking
    the session (logout, revoke, reuse) ends its access tokens at once too.
    """

    class Method(models.TextChoices):
        PASSWORD = "password"  # noqa: S105 (a login method, not a secret)
        OIDC = "oidc"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.PASSWORD)
    refresh_jti = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="core_authsess_user_idx")]

    def __str__(self) -> str:
        return f"session {self.pk} of user {self.user_id}"


class ApiKey(models.Model):
    """A long-lived credential for scripts and bots. Only a SHA-256 hash of the key is kept
    (the key is 256 random bits, so a fast hash is enough); ``prefix`` finds the row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name or 'API key'} ({self.prefix})"


class UserInvite(models.Model):
    """A single-use registration token (only its SHA-256 hash is kept) granting a role."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_hash = models.CharField(max_length=64, unique=True)
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    email = models.EmailField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invite {self.pk} ({self.role})"


class ExternalIdentity(models.Model):
    """A user's account at an OpenID Connect provider: matched by (issuer, subject)."""

    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "external identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="core_extid_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class UserProfile(models.Model):
    """Per-user data beyond Django's user: the preferences document (see UserPreferences)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    preferences = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"profile of user {self.pk}"


class AppendOnlyError(RuntimeError):
    """An attempt to change or delete an audit entry: the log only grows."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    """Refuses bulk updates and deletes: the audit log only grows."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be deleted")


class AuditEntry(models.Model):
    """One security- or trading-relevant action. Append-only: saving an existing entry,
    deleting one and bulk updates/deletes raise AppendOnlyError.

    ``user_id`` is a plain id, not a foreign key: entries outlive the users they name, and a
    foreign key's ``SET_NULL`` would be an update.
    """

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    target = models.CharField(max_length=AUDIT_TARGET_MAX_LENGTH, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    source = models.CharField(max_length=32, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["user_id", "id"], name="core_audit_user_idx")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} user={self.user_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit entries cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be deleted")


# === secrets =====================================================================================


class Secret(models.Model):
    """One encrypted secret of one user: exchange credentials or a generic value.

    ``ciphertext`` is a Fernet token (MultiFernet: the first key of ``DSTA_SECRETS_KEYS``
    encrypts, every key decrypts) of a JSON document that also names the owner and key, so a
    ciphertext copied onto another row does not decrypt as that row's secret. The plaintext is
    never stored, shown or logged; ``fields`` only names which fields are set.
    """

    class Kind(models.TextChoices):
        EXCHANGE_CREDENTIALS = "exchange_credentials"
        GENERIC = "generic"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(
        max_length=SECRET_KEY_MAX_LENGTH,
        validators=[RegexValidator(SECRET_KEY_PATTERN, "lower-case segments: exchange/binance")],
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    ciphertext = models.TextField(editable=False)
    fields = models.JSONField(default=list, editable=False)
    # 1 when created; each replacement adds one (the API's expected_version checks it).
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_read_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["owner_id", "key"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="core_secret_unique_key")
        ]

    def __str__(self) -> str:
        # Never the value: only where it lives.
        return f"{self.key} of user {self.owner_id}"


# === notifications ===============================================================================

PRIORITY_CHOICES = [(priority, priority) for priority in PRIORITIES]
CHANNEL_CHOICES = [(channel, channel) for channel in CHANNELS]


class NotificationTemplate(models.Model):
    """A subject and body with ``{{ variables }}`` (Django template syntax, no autoescape).

    ``owner`` None: a shared template (admins write them); a user's own template of the same
    name wins over a shared one. ``variables`` are the names the template needs, found when
    it was saved; a send must give exactly those.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(
        max_length=64,
        validators=[RegexValidator(NOTIFICATION_NAME_PATTERN, "lower-case name: order_filled")],
    )
    description = models.CharField(max_length=300, blank=True)
    subject = models.CharField(max_length=SUBJECT_MAX_CHARS, blank=True)
    body = models.TextField()
    variables = models.JSONField(default=list, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "owner_id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="core_ntemplate_unique_name"),
            # NULLs are distinct in a unique constraint: shared names need their own.
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(owner__isnull=True),
                name="core_ntemplate_unique_shared_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name if self.owner_id is None else f"{self.name} (user {self.owner_id})"


class NotificationPreference(models.Model):
    """Where a user's notifications go, beyond the user preferences (timezone, quiet hours
    and default channels live in ``UserPreferences``): destinations, per-priority channels and
    what quiet hours do to non-critical notifications."""

    class QuietHoursMode(models.TextChoices):
        DEFER = "defer", "hold external channels until quiet hours end"
        IN_APP_ONLY = "in_app_only", "deliver in-app only, drop external channels"

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    # {"critical": ["in_app", "telegram"], ...}; a priority left out uses the user
    # preferences' notification_channels.
    channels_by_priority = models.JSONField(default=dict, blank=True)
    # Blank: the user's account email.
    email = models.EmailField(blank=True)
    telegram_chat_id = models.CharField(max_length=64, blank=True)
    webhook_url = models.URLField(max_length=500, blank=True)
    quiet_hours_mode = models.CharField(
        max_length=16, choices=QuietHoursMode.choices, default=QuietHoursMode.DEFER
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"notification preferences of user {self.pk}"


class Notification(models.Model):
    """One notification to one user, with its rendered text; delivered per channel (see
    DeliveryLog). ``status`` sums up the deliveries. A request with the same ``dedupe_key``
    inside the window is not stored again: it counts in ``duplicates``."""

    class Status(models.TextChoices):
        PENDING = "pending"
        HELD = "held"
        DELIVERED = "delivered"
        PARTIALLY_DELIVERED = "partially_delivered"
        FAILED = "failed"
        SKIPPED = "skipped"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    priority = models.CharField(max_length=16, choices=PRIORITY_CHOICES, default="normal")
    subject = models.CharField(max_length=SUBJECT_MAX_CHARS, blank=True)
    body = models.TextField()
    template_name = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    channels = models.JSONField(default=list)
    dedupe_key = models.CharField(max_length=DEDUPE_KEY_MAX_LENGTH, blank=True)
    duplicates = models.PositiveIntegerField(default=0)
    # Who asked: "api", "command", "admin" or "event:<domain>".
    source = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="core_notif_owner_idx"),
            models.Index(
                fields=["owner", "dedupe_key", "-created_at"], name="core_notif_dedupe_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.priority} notification {self.pk} to user {self.owner_id}"


class DeliveryLog(models.Model):
    """One channel's delivery of one notification: every attempt counts in ``attempts``;
    ``next_retry_at`` is when the next one is due (a held delivery: when quiet hours end)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        HELD = "held"
        SENDING = "sending"
        RETRYING = "retrying"
        SENT = "sent"
        FAILED = "failed"
        SKIPPED = "skipped"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Where it goes, as far as is safe to show: an address, a chat id, a webhook host.
    destination = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["notification_id", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="core_delivery_unique_channel"
            )
        ]
        indexes = [models.Index(fields=["status", "next_retry_at"], name="core_delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.channel} delivery of {self.notification_id}: {self.status}"
