"""JSON Schema (Draft 2020-12) checks for key definitions and values.

Problems are returned as plain dicts (``path``, ``message``) so they can travel in an error's
``details`` and across the RPC wire unchanged.
"""

import json
from typing import Any

from django.conf import settings
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable

from domains.core.api import (
    ENVIRONMENT_PATTERN,
    KEY_MAX_LENGTH,
    KEY_PATTERN,
    ConfigEnvironmentInvalid,
    ConfigKeyDefinitionInvalid,
    ConfigValueInvalid,
    ConfigValueTooLarge,
)

# Configuration is small by nature; a bigger value is almost certainly a mistake (and every
# watcher receives it). Override with settings.DSTA_CONFIG_MAX_VALUE_BYTES.
DEFAULT_MAX_VALUE_BYTES = 64 * 1024
MAX_PROBLEMS = 20


def max_value_bytes() -> int:
    """The largest JSON encoding a value may have (settings.DSTA_CONFIG_MAX_VALUE_BYTES)."""
    return int(getattr(settings, "DSTA_CONFIG_MAX_VALUE_BYTES", DEFAULT_MAX_VALUE_BYTES))


def schema_problems(schema: Any) -> list[str]:
    """Why ``schema`` is not a usable Draft 2020-12 schema (empty list when it is)."""
    if not isinstance(schema, dict):
        return ["the schema must be a JSON object"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        location = "/".join(str(part) for part in exc.path) or "(root)"
        return [f"{location}: {exc.message}"]
    return []


def value_problems(schema: dict[str, Any], value: Any) -> list[dict[str, str]]:
    """Each way ``value`` violates ``schema``: ``{"path": JSON path, "message": ...}``."""
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    try:
        errors = sorted(validator.iter_errors(value), key=lambda error: list(error.path))
    except Unresolvable as exc:
        # No remote $ref retrieval (no I/O); a $ref that does not resolve is a schema defect.
        return [{"path": "$", "message": f"the schema has an unresolvable $ref: {exc}"}]
    return [{"path": error.json_path, "message": error.message} for error in errors[:MAX_PROBLEMS]]


def encoded_size(value: Any) -> int:
    """Bytes of the compact JSON encoding of ``value``."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def check_value(*, key: str, schema: dict[str, Any], value: Any, max_bytes: int) -> None:
    """Raise ConfigValueTooLarge or ConfigValueInvalid unless ``value`` may be stored."""
    try:
        size = encoded_size(value)
    except (TypeError, ValueError) as exc:
        raise ConfigValueInvalid(
            f"the value of {key!r} is not JSON", details={"problems": [str(exc)]}
        ) from exc
    if size > max_bytes:
        raise ConfigValueTooLarge(
            f"the value of {key!r} is {size} bytes as JSON; at most {max_bytes} are allowed",
            details={"size": size, "limit": max_bytes},
        )
    problems = value_problems(schema, value)
    if problems:
        raise ConfigValueInvalid(
            f"the value does not match the schema of {key!r}: {problems[0]['message']}",
            details={"key": key, "problems": problems},
        )


def check_definition_schema(*, key: str, schema: Any, default: Any) -> None:
    """Raise ConfigKeyDefinitionInvalid unless the schema is valid and the default matches it."""
    problems = schema_problems(schema)
    if problems:
        raise ConfigKeyDefinitionInvalid(
            f"the schema of {key!r} is not a valid JSON Schema (Draft 2020-12)",
            details={"key": key, "problems": problems},
        )
    default_problems = value_problems(schema, default)
    if default_problems:
        raise ConfigKeyDefinitionInvalid(
            f"the default of {key!r} does not match its schema",
            details={"key": key, "problems": default_problems},
        )


def check_environment(environment: str) -> None:
    """Raise ConfigEnvironmentInvalid unless ``environment`` is a short lower-case name."""
    if not isinstance(environment, str) or not ENVIRONMENT_PATTERN.fullmatch(environment):
        raise ConfigEnvironmentInvalid(
            f"environment {environment!r} is not a lower-case name of at most 32 characters "
            "(letters, digits, '-', '_'; e.g. 'default', 'paper', 'live')",
            details={"environment": environment},
        )


def check_key_name(key: str) -> None:
    """Raise ConfigKeyDefinitionInvalid unless ``key`` is a dotted lower-case name."""
    if not isinstance(key, str) or len(key) > KEY_MAX_LENGTH or not KEY_PATTERN.fullmatch(key):
        raise ConfigKeyDefinitionInvalid(
            f"config key {key!r} is not a dotted lower-case name of at most {KEY_MAX_LENGTH} "
            "characters with a domain prefix (e.g. 'trading.kill_switch')",
            details={"key": key},
        )
