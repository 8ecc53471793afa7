"""``WS /api/v1/config/watch``: a committed write reaches every connected watcher."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer
from django.conf import settings as django_settings
from django.test import Client

from domains.core.services.config import ConfigService
from domains.core.tests.conftest import KeyFactory
from dsta.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)
config = ConfigService()
write = database_sync_to_async(config.set)


@pytest.fixture(autouse=True)
def in_memory_layer(settings: Any) -> None:
    # One process, no Redis: the watchers and the writer share the in-memory layer.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def redis_layer(settings: Any, service_url: Callable[[str], str]) -> None:
    """The production layer, on a prefix of its own so parallel runs never meet."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [service_url("redis")], "prefix": f"test{uuid4().hex}"},
        }
    }


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


def watcher(user: Any, query: str = "") -> WebsocketCommunicator:
    """A communicator on the real route table, with the user the auth middleware would set."""
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/api/v1/config/watch{query}"
    )
    communicator.scope["user"] = user
    return communicator


def test_a_write_is_pushed_to_watchers_of_its_key(make_key: KeyFactory, user: Any) -> None:
    key, other = make_key(), make_key()

    async def scenario() -> None:
        everything, only_key = watcher(user), watcher(user, f"?keys={key},unrelated.key")
        assert (await everything.connect())[0]
        assert (await only_key.connect())[0]
        await write(key=other, value=1)
        await write(key=key, value=2, environment="paper")
        assert (await everything.receive_json_from())["key"] == other
        expected = {
            "type": "config.changed",
            "key": key,
            "environment": "paper",
            "version": 1,
            "value": 2,
        }
        assert await everything.receive_json_from() == expected
        # The filtered watcher's first frame is the second write: the first was filtered out.
        assert await only_key.receive_json_from() == expected
        await everything.disconnect()
        await only_key.disconnect()

    run(scenario)


@pytest.mark.services
@pytest.mark.usefixtures("redis_layer")
def test_the_push_travels_over_the_redis_layer(make_key: KeyFactory, user: Any) -> None:
    key = make_key()
    assert isinstance(get_channel_layer(), RedisChannelLayer)

    async def scenario() -> None:
        communicator = watcher(user, f"?keys={key}")
        assert (await communicator.connect())[0]
        await write(key=key, value=11)
        assert (await communicator.receive_json_from(timeout=5))["value"] == 11
        await communicator.disconnect()

    run(scenario)


def test_the_environment_filter_keeps_its_fallback(make_key: KeyFactory, user: Any) -> None:
    key = make_key()

    async def scenario() -> None:
        paper = watcher(user, f"?keys={key}&environment=paper")
        assert (await paper.connect())[0]
        await write(key=key, value=1, environment="live")
        await write(key=key, value=2, environment="default")
        await write(key=key, value=3, environment="paper")
        first, second = await paper.receive_json_from(), await paper.receive_json_from()
        assert [(f["environment"], f["value"]) for f in (first, second)] == [
            ("default", 2),
            ("paper", 3),
        ]
        assert await paper.receive_nothing(timeout=0.05)
        await paper.disconnect()

    run(scenario)


def test_frames_from_a_watcher_are_ignored(make_key: KeyFactory, user: Any) -> None:
    key = make_key()

    async def scenario() -> None:
        communicator = watcher(user, f"?keys={key}")
        assert (await communicator.connect())[0]
        await communicator.send_to(text_data="{not json")
        await write(key=key, value=5)
        assert (await communicator.receive_json_from())["value"] == 5
        await communicator.disconnect()

    run(scenario)


def test_too_many_filter_keys_close_with_4400(user: Any) -> None:
    async def scenario() -> None:
        communicator = watcher(user, "?keys=" + ",".join(f"a.k{i}" for i in range(101)))
        await communicator.connect()
        assert await communicator.receive_output() == {"type": "websocket.close", "code": 4400}

    run(scenario)


def full_stack(path: str, cookie: str | None = None) -> WebsocketCommunicator:
    """A communicator on the deployed ASGI application (origin check, session auth, routes)."""
    from dsta.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


def test_anonymous_watchers_are_closed_with_4401() -> None:
    async def scenario() -> None:
        communicator = full_stack("/api/v1/config/watch")
        await communicator.connect()
        assert await communicator.receive_output() == {"type": "websocket.close", "code": 4401}

    run(scenario)


def test_a_signed_in_session_watches_through_the_deployed_stack(
    make_key: KeyFactory, django_user_model: Any
) -> None:
    key = make_key()
    person = django_user_model.objects.create_user(username=f"w{uuid4().hex[:8]}")
    client = Client()
    client.force_login(person)
    name = django_settings.SESSION_COOKIE_NAME
    cookie = f"{name}={client.cookies[name].value}"

    async def scenario() -> None:
        communicator = full_stack(f"/api/v1/config/watch?keys={key}", cookie)
        assert (await communicator.connect())[0]
        await write(key=key, value=8)
        assert (await communicator.receive_json_from())["value"] == 8
        await communicator.disconnect()

    run(scenario)
