"""``manage.py config``: list, get, set, history, sync; CommandError on bad input."""

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from domains.core.models import ConfigKey, ConfigValue
from domains.core.tests.conftest import KeyFactory

pytestmark = pytest.mark.django_db


def config(*args: str) -> str:
    out = StringIO()
    call_command("config", *args, stdout=out)
    return out.getvalue()


def test_set_get_history_and_list(make_key: KeyFactory, django_user_model: Any) -> None:
    key = make_key(schema={"type": "object"}, default={})
    django_user_model.objects.create_user(username="ops")
    assert "(v1, paper)" in config(
        "set", key, '{"max": 3}', "-e", "paper", "-r", "cap", "-u", "ops"
    )
    config("set", key, '{"max": 4}', "--environment", "paper", "--expected-version", "1")
    entry = json.loads(config("get", key, "--environment", "paper"))
    assert (entry["value"], entry["version"], entry["source"]) == ({"max": 4}, 2, "environment")
    lines = config("history", key, "-e", "paper").splitlines()
    assert [line.split()[0] for line in lines] == ["v2", "v1"]
    assert lines[1].endswith("# cap")
    assert "user " in lines[1]
    listing = config("list", "-e", "paper")
    assert f'{key} = {{"max": 4}}  (v2, environment, paper)' in listing
    assert "trading.kill_switch [flag] = false" in listing


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("get", "nope.nothing"), "config_key_unknown"),
        (("set", "{key}", "not-json"), "VALUE must be JSON"),
        (("set", "{key}", "-1"), "config_value_invalid"),
        (("set", "{key}", "1", "--expected-version", "7"), "config_version_conflict"),
        (("set", "{key}", "1", "--user", "ghost"), "no user named 'ghost'"),
        (("get", "{key}", "-e", "Bad Env"), "config_environment_invalid"),
        (("history", "{key}", "--limit", "0"), "--limit must be from 1"),
        (("set", "{key}", "1", "--expected-version", "x"), "invalid int value"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_bad_input_is_a_command_error(
    make_key: KeyFactory, args: tuple[str, ...], fragment: str
) -> None:
    key = make_key()
    with pytest.raises(CommandError) as caught:
        config(*(arg.format(key=key) for arg in args))
    assert fragment in str(caught.value)


def test_history_of_an_untouched_environment_says_so(make_key: KeyFactory) -> None:
    key = make_key()
    assert "has no versions in 'live'" in config("history", key, "-e", "live")


def test_sync_stores_the_declared_keys() -> None:
    ConfigValue.objects.filter(config_key__key="trading.kill_switch").delete()
    ConfigKey.objects.filter(key="trading.kill_switch").delete()
    assert "declared config keys synced" in config("sync")
    assert ConfigKey.objects.get(key="trading.kill_switch").is_feature_flag
