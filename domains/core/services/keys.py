"""Defining configuration keys: code declares them, these services store them."""

import logging
from dataclasses import dataclass

from django.db import transaction

from domains.core.api import ConfigKeyDefinition, ConfigKeyDefinitionInvalid
from domains.core.models import ConfigKey, ConfigValue
from domains.core.services.validation import (
    check_definition_schema,
    check_key_name,
    value_problems,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class KeySyncResult:
    """What defining one key did, and which stored versions its (new) schema rejects."""

    key: str
    created: bool
    updated: bool
    invalid_versions: list[str]


def config_key_define(*, definition: ConfigKeyDefinition) -> tuple[ConfigKey, KeySyncResult]:
    """Create or update the stored key from its code declaration (idempotent).

    Values already written are kept even when a changed schema rejects them (history is not
    rewritten); those versions are reported and logged so an operator can write valid ones.
    """
    check_key_name(definition.key)
    if definition.is_secret:
        # Secrets get their own encrypted store; plain config must never hold one.
        raise ConfigKeyDefinitionInvalid(
            f"config key {definition.key!r} is marked secret; secret keys are not supported "
            "by the configuration store",
            details={"key": definition.key},
        )
    check_definition_schema(
        key=definition.key, schema=definition.schema, default=definition.default
    )
    if definition.is_feature_flag and definition.schema.get("type") != "boolean":
        raise ConfigKeyDefinitionInvalid(
            f"feature flag {definition.key!r} must have the schema type 'boolean'",
            details={"key": definition.key},
        )
    wanted = {
        "description": definition.description,
        "schema": definition.schema,
        "default": definition.default,
        "is_feature_flag": definition.is_feature_flag,
        "is_secret": definition.is_secret,
    }
    with transaction.atomic():
        config_key, created = ConfigKey.objects.select_for_update().get_or_create(
            key=definition.key, defaults=wanted
        )
        changed = [name for name, value in wanted.items() if getattr(config_key, name) != value]
        if changed:
            for name in changed:
                setattr(config_key, name, wanted[name])
            config_key.save(update_fields=[*changed, "updated_at"])
    invalid = [] if created or "schema" not in changed else _versions_rejected_by(config_key)
    for label in invalid:
        logger.warning(
            "stored config value %s does not match the new schema of %s", label, config_key.key
        )
    result = KeySyncResult(
        key=config_key.key, created=created, updated=bool(changed), invalid_versions=invalid
    )
    return config_key, result


def _versions_rejected_by(config_key: ConfigKey) -> list[str]:
    """The newest version of each environment that the key's schema rejects."""
    rejected = []
    environments = (
        ConfigValue.objects.filter(config_key=config_key)
        .values_list("environment", flat=True)
        .distinct()
    )
    for environment in sorted(set(environments)):
        row = (
            ConfigValue.objects.filter(config_key=config_key, environment=environment)
            .order_by("-version")
            .first()
        )
        if row is not None and value_problems(config_key.schema, row.value):
            rejected.append(f"{environment} v{row.version}")
    return rejected


def config_keys_sync(*, definitions: list[ConfigKeyDefinition]) -> list[KeySyncResult]:
    """Define every key in ``definitions`` (see :func:`config_key_define`)."""
    return [config_key_define(definition=definition)[1] for definition in definitions]
