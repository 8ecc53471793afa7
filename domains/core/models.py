"""ORM models of the core domain: configuration keys and their versioned values."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from domains.core.api import ENVIRONMENT_PATTERN, KEY_MAX_LENGTH, KEY_PATTERN, REASON_MAX_LENGTH


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
