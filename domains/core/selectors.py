"""Reads of configuration shared by the service, the endpoints, the admin and the command."""

from django.db.models import OuterRef, QuerySet, Subquery

from domains.core.api import (
    DEFAULT_ENVIRONMENT,
    HISTORY_MAX_LIMIT,
    ConfigEntry,
    ConfigKeyUnknown,
)
from domains.core.models import ConfigKey, ConfigValue
from domains.core.serial import serialize_entry
from domains.core.services.validation import check_environment
from dsta.kernel.errors import InvalidInput


def config_key_get(*, key: str) -> ConfigKey:
    """The stored key named ``key``; raises ConfigKeyUnknown."""
    config_key = ConfigKey.objects.filter(key=key).first()
    if config_key is None:
        raise ConfigKeyUnknown(f"no config key named {key!r}", details={"key": key})
    return config_key


def config_latest_value(*, config_key: ConfigKey, environment: str) -> ConfigValue | None:
    """The newest row of ``config_key`` in exactly ``environment``, if any."""
    return (
        ConfigValue.objects.filter(config_key=config_key, environment=environment)
        .order_by("-version")
        .first()
    )


def config_entry_get(*, key: str, environment: str = DEFAULT_ENVIRONMENT) -> ConfigEntry:
    """The effective value of ``key`` in ``environment`` (environment, "default", key default)."""
    check_environment(environment)
    config_key = config_key_get(key=key)
    own = config_latest_value(config_key=config_key, environment=environment)
    fallback = None
    if own is None and environment != DEFAULT_ENVIRONMENT:
        fallback = config_latest_value(config_key=config_key, environment=DEFAULT_ENVIRONMENT)
    return serialize_entry(
        config_key=config_key, environment=environment, own=own, fallback=fallback
    )


def config_entries_list(
    *, environment: str = DEFAULT_ENVIRONMENT
) -> list[tuple[ConfigKey, ConfigEntry]]:
    """Every key with its effective value in ``environment``, ordered by key, in two queries."""
    check_environment(environment)
    newest_version = (
        ConfigValue.objects.filter(
            config_key=OuterRef("config_key"), environment=OuterRef("environment")
        )
        .order_by("-version")
        .values("version")[:1]
    )
    latest_rows = ConfigValue.objects.filter(
        environment__in={environment, DEFAULT_ENVIRONMENT}, version=Subquery(newest_version)
    )
    latest: dict[tuple[int, str], ConfigValue] = {
        (row.config_key_id, row.environment): row for row in latest_rows
    }
    entries = []
    for config_key in ConfigKey.objects.order_by("key"):
        own = latest.get((config_key.pk, environment))
        fallback = latest.get((config_key.pk, DEFAULT_ENVIRONMENT))
        entry = serialize_entry(
            config_key=config_key, environment=environment, own=own, fallback=fallback
        )
        entries.append((config_key, entry))
    return entries


def config_history(
    *, key: str, environment: str = DEFAULT_ENVIRONMENT, limit: int = 50
) -> QuerySet[ConfigValue]:
    """The rows of ``key`` in exactly ``environment``, newest first, at most ``limit``."""
    check_environment(environment)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= HISTORY_MAX_LIMIT:
        raise InvalidInput(
            f"limit must be an integer from 1 to {HISTORY_MAX_LIMIT}", details={"limit": limit}
        )
    config_key = config_key_get(key=key)
    return (
        ConfigValue.objects.filter(config_key=config_key, environment=environment)
        .select_related("config_key")
        .order_by("-version")[:limit]
    )
