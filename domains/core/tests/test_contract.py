"""The ConfigApi contract, run once in-process and once against a second process over HTTP.

Identical expectations for both bindings: the DTO types, the defaults, and the errors (the
same classes, codes and details come back across the wire).
"""

from datetime import datetime
from typing import Any

import pytest

from domains.core.api import (
    ConfigApi,
    ConfigEntry,
    ConfigEnvironmentInvalid,
    ConfigKeyDefinition,
    ConfigKeyInfo,
    ConfigKeyNotAFlag,
    ConfigKeyUnknown,
    ConfigValueInvalid,
    ConfigVersion,
    ConfigVersionConflict,
)
from domains.core.events import ConfigChanged
from domains.core.tests.conftest import KeyFactory, unique_key
from dsta.kernel.bus.models import OutboxMessage
from dsta.kernel.rpc.testing import BINDING_PARAMS, RpcBinder

pytestmark = pytest.mark.django_db(transaction=True)
LIMITS = {
    "type": "object",
    "properties": {"max_usd": {"type": "number", "exclusiveMinimum": 0}},
    "required": ["max_usd"],
}


@pytest.fixture(params=BINDING_PARAMS)
def config(request: pytest.FixtureRequest, rpc_binding: RpcBinder) -> ConfigApi:
    return rpc_binding(ConfigApi, request.param)


def test_get_falls_back_and_says_where_the_value_came_from(
    config: ConfigApi, make_key: KeyFactory
) -> None:
    key = make_key(default=4)
    entry = config.get(key=key, environment="live")
    assert entry == ConfigEntry(
        key=key, environment="live", value=4, version=0, updated_at=None, source="key_default"
    )
    config.set(key=key, value=5)
    entry = config.get(key=key, environment="live")
    assert (entry.value, entry.version, entry.source) == (5, 1, "default")
    assert isinstance(entry.updated_at, datetime)
    assert entry.updated_at.tzinfo is not None
    assert config.get(key=key).source == "environment"  # the default environment's own value


def test_set_versions_and_history(
    config: ConfigApi, make_key: KeyFactory, django_user_model: Any
) -> None:
    key = make_key(schema=LIMITS, default={"max_usd": 1})
    writer = django_user_model.objects.create_user(username=f"writer-{key[-6:]}")
    first = config.set(
        key=key,
        value={"max_usd": 10.5},
        environment="paper",
        actor_id=writer.pk,
        reason="open up",
        expected_version=0,
    )
    assert isinstance(first, ConfigEntry)
    assert (first.value, first.version, first.source) == ({"max_usd": 10.5}, 1, "environment")
    config.set(key=key, value={"max_usd": 20}, environment="paper")
    history = config.history(key=key, environment="paper")
    assert all(isinstance(version, ConfigVersion) for version in history)
    assert [(v.version, v.value, v.changed_by, v.reason) for v in history] == [
        (2, {"max_usd": 20}, None, ""),
        (1, {"max_usd": 10.5}, writer.pk, "open up"),
    ]
    assert [v.version for v in config.history(key=key, environment="paper", limit=1)] == [2]
    assert config.history(key=key) == []


def test_set_publishes_config_changed(config: ConfigApi, make_key: KeyFactory) -> None:
    key = make_key()
    config.set(key=key, value=3, environment="live")
    row = OutboxMessage.objects.get(name=ConfigChanged.name, payload__key=key)
    assert (row.payload["environment"], row.payload["version"], row.payload["value"]) == (
        "live",
        1,
        3,
    )


def test_list_keys_and_define_key(config: ConfigApi) -> None:
    definition = ConfigKeyDefinition(
        key=unique_key(), description="risk limits", schema=LIMITS, default={"max_usd": 1}
    )
    info = config.define_key(definition=definition)
    assert isinstance(info, ConfigKeyInfo)
    assert (info.key, info.schema, info.default, info.is_feature_flag) == (
        definition.key,
        LIMITS,
        {"max_usd": 1},
        False,
    )
    assert config.define_key(definition=definition).key == definition.key  # idempotent
    listed = {item.key: item for item in config.list_keys()}
    assert listed[definition.key] == info
    assert listed["trading.kill_switch"].is_feature_flag


def test_is_enabled(config: ConfigApi, make_flag: KeyFactory, make_key: KeyFactory) -> None:
    flag = make_flag(default=False)
    assert config.is_enabled(flag=flag) is False
    config.set(key=flag, value=True, environment="live")
    assert config.is_enabled(flag=flag, environment="live") is True
    assert config.is_enabled(flag=flag, environment="paper") is False
    with pytest.raises(ConfigKeyNotAFlag):
        config.is_enabled(flag=make_key())


def test_errors_keep_their_class_code_and_details(config: ConfigApi, make_key: KeyFactory) -> None:
    key = make_key(schema=LIMITS, default={"max_usd": 1})
    with pytest.raises(ConfigKeyUnknown) as unknown:
        config.get(key="nope.nothing")
    assert (unknown.value.code, unknown.value.status) == ("config_key_unknown", 404)
    with pytest.raises(ConfigValueInvalid) as invalid:
        config.set(key=key, value={"max_usd": -1})
    assert [p["path"] for p in invalid.value.details["problems"]] == ["$.max_usd"]
    config.set(key=key, value={"max_usd": 2})
    with pytest.raises(ConfigVersionConflict) as conflict:
        config.set(key=key, value={"max_usd": 3}, expected_version=0)
    assert conflict.value.details["current_version"] == 1
    with pytest.raises(ConfigEnvironmentInvalid):
        config.get(key=key, environment="NOT OK")
