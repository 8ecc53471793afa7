"""Fixtures of the core domain's tests: throwaway config keys, users, collected events."""

from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest

from domains.core.api import ConfigKeyDefinition
from domains.core.events import ConfigChanged
from domains.core.services.keys import config_key_define
from dsta.kernel.bus import subscribe, unsubscribe
from dsta.kernel.rpc.testing import (  # noqa: F401 (fixtures are found by name)
    live_server_process,
    rpc_binding,
    rpc_extra_modules,
    rpc_server_pool,
)

KeyFactory = Callable[..., str]


def unique_key(prefix: str = "test") -> str:
    """A config key name no other test (or parallel run) uses."""
    return f"{prefix}.k{uuid4().hex[:16]}"


@pytest.fixture
def make_key(db: None) -> KeyFactory:
    """``make_key(schema=..., default=..., is_feature_flag=...)`` defines a fresh key."""

    def make(
        *,
        schema: dict[str, Any] | None = None,
        default: Any = 0,
        is_feature_flag: bool = False,
        description: str = "a key made by a test",
    ) -> str:
        key = unique_key()
        config_key_define(
            definition=ConfigKeyDefinition(
                key=key,
                description=description,
                schema=schema if schema is not None else {"type": "integer", "minimum": 0},
                default=default,
                is_feature_flag=is_feature_flag,
            )
        )
        return key

    return make


@pytest.fixture
def make_flag(make_key: KeyFactory) -> Callable[..., str]:
    """``make_flag(default=False)`` defines a fresh boolean feature flag."""

    def make(*, default: bool = False) -> str:
        return make_key(schema={"type": "boolean"}, default=default, is_feature_flag=True)

    return make


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username=f"u{uuid4().hex[:10]}")


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    """A user with the admin role (and so ``is_staff``)."""
    from domains.core.services.roles import user_set_role

    person = django_user_model.objects.create_user(username=f"s{uuid4().hex[:10]}")
    user_set_role(user=person, role="admin")
    return person


@pytest.fixture
def config_events() -> Iterator[list[ConfigChanged]]:
    """Every ConfigChanged delivered to a test subscriber while the test runs."""
    delivered: list[ConfigChanged] = []
    subscriber = f"tests.config_{uuid4().hex[:12]}"
    subscribe(ConfigChanged, delivered.append, subscriber=subscriber)
    yield delivered
    unsubscribe(ConfigChanged, subscriber=subscriber)
