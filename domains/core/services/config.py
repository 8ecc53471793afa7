"""``ConfigService``: the in-process implementation of :class:`domains.core.api.ConfigApi`."""

from typing import Any

from domains.core.api import (
    DEFAULT_ENVIRONMENT,
    ConfigApi,
    ConfigEntry,
    ConfigKeyDefinition,
    ConfigKeyInfo,
    ConfigKeyNotAFlag,
    ConfigVersion,
)
from domains.core.models import ConfigKey
from domains.core.selectors import config_entry_get, config_history, config_key_get
from domains.core.serial import serialize_entry, serialize_key, serialize_version
from domains.core.services.keys import config_key_define
from domains.core.services.values import config_value_set


class ConfigService(ConfigApi):
    """Reads through the selectors, writes through the services; returns DTOs only."""

    def get(self, *, key: str, environment: str = DEFAULT_ENVIRONMENT) -> ConfigEntry:
        """See ConfigApi.get."""
        return config_entry_get(key=key, environment=environment)

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
        """See ConfigApi.set."""
        row = config_value_set(
            key=key,
            value=value,
            environment=environment,
            actor_id=actor_id,
            reason=reason,
            expected_version=expected_version,
        )
        return serialize_entry(
            config_key=row.config_key, environment=environment, own=row, fallback=None
        )

    def history(
        self, *, key: str, environment: str = DEFAULT_ENVIRONMENT, limit: int = 50
    ) -> list[ConfigVersion]:
        """See ConfigApi.history."""
        rows = config_history(key=key, environment=environment, limit=limit)
        return [serialize_version(row) for row in rows]

    def list_keys(self) -> list[ConfigKeyInfo]:
        """See ConfigApi.list_keys."""
        return [serialize_key(config_key) for config_key in ConfigKey.objects.order_by("key")]

    def is_enabled(self, *, flag: str, environment: str = DEFAULT_ENVIRONMENT) -> bool:
        """See ConfigApi.is_enabled."""
        if not config_key_get(key=flag).is_feature_flag:
            raise ConfigKeyNotAFlag(f"{flag!r} is not a feature flag", details={"key": flag})
        return config_entry_get(key=flag, environment=environment).value is True

    def define_key(self, *, definition: ConfigKeyDefinition) -> ConfigKeyInfo:
        """See ConfigApi.define_key."""
        config_key, _ = config_key_define(definition=definition)
        return serialize_key(config_key)
