"""The configuration door of the core domain: ``ConfigApi``, its DTOs, errors and key registry.

Other domains read and write configuration only through :func:`config_api` and learn about
changes from :class:`domains.core.events.ConfigChanged`. This module is a pure contract: no
Django, no ORM, no I/O. Its type hints are the wire contract of the remote binding, which is
why it does not use ``from __future__ import annotations``.

Reading a key for an environment returns the newest value written for that environment, else
the newest value of the ``"default"`` environment, else the key's code-declared default.
"""

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from dsta.kernel import rpc
from dsta.kernel.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge

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
