"""Defining keys: schemas are checked when a key is defined; code declarations get synced."""

from collections.abc import Iterator
from typing import Any

import pytest

from domains.core import api as core_api
from domains.core.api import (
    ConfigKeyDefinition,
    ConfigKeyDefinitionInvalid,
    declare_config_key,
    declared_config_keys,
)
from domains.core.handlers import sync_declared_keys_after_migrate
from domains.core.models import ConfigKey, ConfigValue
from domains.core.services.keys import config_key_define, config_keys_sync
from domains.core.services.values import config_value_set
from domains.core.tests.conftest import unique_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def declared_registry() -> Iterator[None]:
    """Leave the process-wide key registry as the test found it."""
    saved = dict(core_api._declared)
    yield
    core_api._declared.clear()
    core_api._declared.update(saved)


def definition(key: str | None = None, **overrides: Any) -> ConfigKeyDefinition:
    fields: dict[str, Any] = {
        "key": key or unique_key(),
        "description": "max open orders",
        "schema": {"type": "integer", "minimum": 0},
        "default": 10,
    }
    fields.update(overrides)
    return ConfigKeyDefinition(**fields)


def test_define_stores_the_key_once() -> None:
    wanted = definition()
    stored, first = config_key_define(definition=wanted)
    again, second = config_key_define(definition=wanted)
    assert (first.created, first.updated) == (True, False)
    assert (second.created, second.updated) == (False, False)
    assert stored.pk == again.pk
    assert (stored.schema, stored.default) == ({"type": "integer", "minimum": 0}, 10)


def test_redefining_updates_description_schema_and_default() -> None:
    key = unique_key()
    config_key_define(definition=definition(key))
    _, result = config_key_define(
        definition=definition(key, description="new", schema={"type": "integer"}, default=-1)
    )
    stored = ConfigKey.objects.get(key=key)
    assert result.updated
    assert (stored.description, stored.schema, stored.default) == ("new", {"type": "integer"}, -1)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"schema": {"type": "no-such-type"}}, "not a valid JSON Schema"),
        ({"schema": {"minimum": "zero"}}, "not a valid JSON Schema"),
        ({"schema": ["not", "an", "object"]}, "not a valid JSON Schema"),
        ({"default": -1}, "default"),
        ({"default": "ten"}, "default"),
        ({"is_secret": True}, "secret"),
        ({"is_feature_flag": True}, "boolean"),
    ],
)
def test_bad_definitions_are_refused(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigKeyDefinitionInvalid) as caught:
        config_key_define(definition=definition(**overrides))
    assert fragment in caught.value.message
    assert not ConfigKey.objects.filter(key=caught.value.details["key"]).exists()


@pytest.mark.parametrize(
    "name", ["nodot", "Upper.case", "trading.", ".x", "a.b-c", "a." + "x" * 130]
)
def test_bad_key_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigKeyDefinitionInvalid):
        config_key_define(definition=definition(name))


def test_a_schema_change_reports_stored_values_it_rejects() -> None:
    key = unique_key()
    config_key_define(definition=definition(key))
    config_value_set(key=key, value=50, environment="paper")
    config_value_set(key=key, value=5)
    _, result = config_key_define(
        definition=definition(key, schema={"type": "integer", "maximum": 20}, default=1)
    )
    assert result.invalid_versions == ["paper v1"]
    # History is never rewritten: the rejected value is still there.
    assert ConfigValue.objects.get(config_key__key=key, environment="paper").value == 50


def test_trading_declares_the_kill_switch_and_migrate_stored_it() -> None:
    declared = {d.key: d for d in declared_config_keys()}
    assert declared["trading.kill_switch"].is_feature_flag
    stored = ConfigKey.objects.get(key="trading.kill_switch")
    assert (stored.is_feature_flag, stored.schema, stored.default) == (
        True,
        {"type": "boolean"},
        False,
    )


@pytest.mark.usefixtures("declared_registry")
def test_declaring_a_key_twice_differently_is_an_error() -> None:
    wanted = definition()
    declare_config_key(wanted)
    declare_config_key(wanted)  # the same declaration again is fine (a re-import)
    with pytest.raises(ConfigKeyDefinitionInvalid):
        declare_config_key(definition(wanted.key, default=3))


@pytest.mark.usefixtures("declared_registry")
def test_post_migrate_sync_stores_declared_keys() -> None:
    wanted = definition()
    declare_config_key(wanted)
    assert not ConfigKey.objects.filter(key=wanted.key).exists()
    sync_declared_keys_after_migrate(using="default")
    assert ConfigKey.objects.filter(key=wanted.key).exists()


def test_sync_defines_every_definition() -> None:
    wanted = [definition(), definition()]
    results = config_keys_sync(definitions=wanted)
    assert [r.key for r in results] == [d.key for d in wanted]
    assert ConfigKey.objects.filter(key__in=[d.key for d in wanted]).count() == 2
