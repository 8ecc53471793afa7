"""Writes: monotonic versions, full history, environment fallback, optimistic concurrency."""

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.core.api import (
    ConfigActorUnknown,
    ConfigEnvironmentInvalid,
    ConfigKeyNotAFlag,
    ConfigKeyUnknown,
    ConfigVersionConflict,
)
from domains.core.services.config import ConfigService
from domains.core.services.values import config_value_set
from domains.core.tests.conftest import KeyFactory
from dsta.kernel.errors import InvalidInput

pytestmark = pytest.mark.django_db
config = ConfigService()


def test_reads_fall_back_from_environment_to_default_to_key_default(make_key: KeyFactory) -> None:
    key = make_key(default=7)
    entry = config.get(key=key, environment="live")
    assert (entry.value, entry.version, entry.source, entry.updated_at) == (
        7,
        0,
        "key_default",
        None,
    )

    config.set(key=key, value=1)
    config.set(key=key, value=2)
    live = config.get(key=key, environment="live")
    assert (live.value, live.version, live.source, live.environment) == (2, 2, "default", "live")
    assert config.get(key=key).source == "environment"

    config.set(key=key, value=30, environment="live")
    live = config.get(key=key, environment="live")
    assert (live.value, live.version, live.source) == (30, 1, "environment")
    # Other environments still see the default environment's value.
    assert config.get(key=key, environment="paper").value == 2


def test_set_returns_the_stored_entry_and_history_keeps_every_write(
    make_key: KeyFactory, user: Any
) -> None:
    key = make_key()
    entry = config.set(key=key, value=5, environment="paper", actor_id=user.pk, reason="why")
    assert (entry.key, entry.environment, entry.value, entry.version) == (key, "paper", 5, 1)
    assert entry.source == "environment"
    assert entry.updated_at is not None
    config.set(key=key, value=6, environment="paper")
    history = config.history(key=key, environment="paper")
    assert [(v.version, v.value, v.changed_by, v.reason) for v in history] == [
        (2, 6, None, ""),
        (1, 5, user.pk, "why"),
    ]
    assert config.history(key=key, environment="paper", limit=1)[0].version == 2
    # History is of one environment exactly: no fallback.
    assert config.history(key=key, environment="live") == []


def test_expected_version_guards_against_lost_updates(make_key: KeyFactory) -> None:
    key = make_key()
    config.set(key=key, value=1, expected_version=0)
    config.set(key=key, value=2, expected_version=1)
    with pytest.raises(ConfigVersionConflict) as caught:
        config.set(key=key, value=3, expected_version=1)
    assert caught.value.status == 409
    assert caught.value.details["current_version"] == 2
    # A fresh environment is at version 0 whatever the default environment holds.
    config.set(key=key, value=4, environment="live", expected_version=0)
    assert config.get(key=key).value == 2


def test_unknown_keys_and_bad_arguments_are_refused(make_key: KeyFactory) -> None:
    key = make_key()
    with pytest.raises(ConfigKeyUnknown) as caught:
        config.get(key="nope.nothing")
    assert (caught.value.status, caught.value.code) == (404, "config_key_unknown")
    with pytest.raises(ConfigKeyUnknown):
        config.set(key="nope.nothing", value=1)
    with pytest.raises(ConfigKeyUnknown):
        config.history(key="nope.nothing")
    with pytest.raises(ConfigEnvironmentInvalid):
        config.get(key=key, environment="Live Trading")
    with pytest.raises(ConfigActorUnknown):
        config.set(key=key, value=1, actor_id=987654321)
    with pytest.raises(InvalidInput):
        config.set(key=key, value=1, reason="x" * 501)
    with pytest.raises(InvalidInput):
        config.set(key=key, value=1, expected_version=-1)
    with pytest.raises(InvalidInput):
        config.history(key=key, limit=0)


def test_is_enabled_reads_flags_only(make_flag: Any, make_key: KeyFactory) -> None:
    flag = make_flag(default=False)
    assert config.is_enabled(flag=flag) is False
    config.set(key=flag, value=True, environment="paper")
    assert config.is_enabled(flag=flag, environment="paper") is True
    assert config.is_enabled(flag=flag, environment="live") is False
    with pytest.raises(ConfigKeyNotAFlag):
        config.is_enabled(flag=make_key())


def test_list_keys_is_ordered_and_typed(make_key: KeyFactory, make_flag: Any) -> None:
    created = {make_key(), make_flag()}
    listed = [info for info in config.list_keys() if info.key in created]
    assert [info.key for info in listed] == sorted(created)
    assert {info.is_feature_flag for info in listed} == {True, False}


def test_json_null_is_a_value_when_the_schema_allows_it(make_key: KeyFactory) -> None:
    key = make_key(schema={"type": ["integer", "null"]}, default=3)
    config.set(key=key, value=None)
    entry = config.get(key=key)
    assert (entry.value, entry.version, entry.source) == (None, 1, "environment")


writes = st.lists(
    st.tuples(st.sampled_from(["default", "paper", "live"]), st.integers(0, 10**6)),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(writes=writes)
def test_versions_count_up_per_environment_and_history_replays_every_write(
    make_key: KeyFactory, writes: list[tuple[str, int]]
) -> None:
    key = make_key()
    for environment, value in writes:
        config_value_set(key=key, value=value, environment=environment)
    for environment in {"default", "paper", "live"}:
        written = [value for env, value in writes if env == environment]
        history = config.history(key=key, environment=environment, limit=1000)
        assert [v.version for v in reversed(history)] == list(range(1, len(written) + 1))
        assert [v.value for v in reversed(history)] == written
        effective = config.get(key=key, environment=environment)
        own_or_default = written or [v for e, v in writes if e == "default"]
        assert effective.value == (own_or_default[-1] if own_or_default else 0)
