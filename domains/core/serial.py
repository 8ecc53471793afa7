"""Mappers from the core domain's config models to the DTOs of ``domains.core.api``.

A model instance never leaves the domain: everything crossing the door goes through here.
"""

from domains.core.api import ConfigEntry, ConfigKeyInfo, ConfigVersion
from domains.core.models import ConfigKey, ConfigValue


def serialize_key(config_key: ConfigKey) -> ConfigKeyInfo:
    """The DTO of a stored key."""
    return ConfigKeyInfo(
        key=config_key.key,
        description=config_key.description,
        schema=config_key.schema,
        default=config_key.default,
        is_feature_flag=config_key.is_feature_flag,
        is_secret=config_key.is_secret,
        updated_at=config_key.updated_at,
    )


def serialize_version(row: ConfigValue) -> ConfigVersion:
    """The DTO of one stored version (``row.config_key`` should be select_related)."""
    return ConfigVersion(
        key=row.config_key.key,
        environment=row.environment,
        version=row.version,
        value=row.value,
        changed_by=row.changed_by_id,
        reason=row.reason,
        created_at=row.created_at,
    )


def serialize_entry(
    *,
    config_key: ConfigKey,
    environment: str,
    own: ConfigValue | None,
    fallback: ConfigValue | None,
) -> ConfigEntry:
    """The effective value of ``config_key`` in ``environment``.

    ``own`` is the newest row of ``environment``, ``fallback`` the newest row of the default
    environment; the first present wins, else the key's declared default (version 0).
    """
    if own is not None:
        row = own
    elif fallback is not None:
        row = fallback
    else:
        return ConfigEntry(
            key=config_key.key,
            environment=environment,
            value=config_key.default,
            version=0,
            updated_at=None,
            source="key_default",
        )
    return ConfigEntry(
        key=config_key.key,
        environment=environment,
        value=row.value,
        version=row.version,
        updated_at=row.created_at,
        # A read of the default environment itself reports "environment": it is its own value.
        source="environment" if row.environment == environment else "default",
    )
