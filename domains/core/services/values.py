"""Writing configuration values: validated, versioned, optimistic, and announced."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max

from domains.core.api import (
    DEFAULT_ENVIRONMENT,
    REASON_MAX_LENGTH,
    ConfigActorUnknown,
    ConfigKeyUnknown,
    ConfigVersionConflict,
)
from domains.core.events import ConfigChanged
from domains.core.models import ConfigKey, ConfigValue
from domains.core.services.validation import check_environment, check_value, max_value_bytes
from dsta.kernel.bus import publish
from dsta.kernel.errors import InvalidInput


def config_value_set(
    *,
    key: str,
    value: Any,
    environment: str = DEFAULT_ENVIRONMENT,
    actor_id: int | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> ConfigValue:
    """Store ``value`` as the next version of ``key`` in ``environment``.

    Validates against the key's schema, refuses a stale ``expected_version`` (the current
    version of exactly this environment; 0 when it has none yet), and publishes
    ConfigChanged in the same transaction, so subscribers hear of the write only once it is
    committed and never of one that rolled back.
    """
    check_environment(environment)
    _check_write_arguments(actor_id=actor_id, reason=reason, expected_version=expected_version)
    with transaction.atomic():
        # Locking the key row serialises writers of one key, so versions are dense and the
        # expected_version check cannot race (SQLite serialises all writers anyway).
        config_key = ConfigKey.objects.select_for_update().filter(key=key).first()
        if config_key is None:
            raise ConfigKeyUnknown(f"no config key named {key!r}", details={"key": key})
        check_value(key=key, schema=config_key.schema, value=value, max_bytes=max_value_bytes())
        current = (
            ConfigValue.objects.filter(config_key=config_key, environment=environment).aggregate(
                newest=Max("version")
            )["newest"]
            or 0
        )
        if expected_version is not None and expected_version != current:
            raise ConfigVersionConflict(
                f"{key!r} in {environment!r} is at version {current}, "
                f"not {expected_version}; read it again and retry",
                details={
                    "key": key,
                    "environment": environment,
                    "expected_version": expected_version,
                    "current_version": current,
                },
            )
        try:
            with transaction.atomic():
                row = ConfigValue.objects.create(
                    config_key=config_key,
                    environment=environment,
                    version=current + 1,
                    value=value,
                    changed_by_id=actor_id,
                    reason=reason,
                )
        except IntegrityError as exc:
            # Only reachable if a writer slipped past the row lock (e.g. a database without
            # SELECT ... FOR UPDATE); the unique constraint keeps versions monotonic anyway.
            raise ConfigVersionConflict(
                f"{key!r} in {environment!r} was written concurrently; read it again and retry",
                details={"key": key, "environment": environment},
            ) from exc
        publish(
            ConfigChanged(
                key=key,
                environment=environment,
                version=row.version,
                value=value,
                changed_by=actor_id,
            )
        )
    return row


def _check_write_arguments(
    *, actor_id: int | None, reason: str, expected_version: int | None
) -> None:
    """Type and range checks the HTTP layer does too, repeated for in-process callers."""
    if not isinstance(reason, str) or len(reason) > REASON_MAX_LENGTH:
        raise InvalidInput(
            f"reason must be text of at most {REASON_MAX_LENGTH} characters",
            details={"reason": "too long" if isinstance(reason, str) else "not text"},
        )
    if expected_version is not None and (
        isinstance(expected_version, bool)
        or not isinstance(expected_version, int)
        or expected_version < 0
    ):
        raise InvalidInput(
            "expected_version must be a non-negative integer",
            details={"expected_version": expected_version},
        )
    if actor_id is not None:
        if isinstance(actor_id, bool) or not isinstance(actor_id, int):
            raise InvalidInput("actor_id must be a user id", details={"actor_id": actor_id})
        if not get_user_model().objects.filter(pk=actor_id).exists():
            raise ConfigActorUnknown(f"no user with id {actor_id}", details={"actor_id": actor_id})
