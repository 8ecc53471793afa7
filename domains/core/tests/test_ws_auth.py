"""WebSocket connections authenticate with an access token or an API key (header, ``?token=``
or subprotocol), through the composition root's ASGI application."""

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from domains.core.http.ws_auth import credential_of
from domains.core.models import ApiKey
from domains.core.tests.people import api_key_for, make_user, tokens_for
from dsta.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)
PATH = "/api/v1/config/watch"


@pytest.fixture(autouse=True)
def in_memory_layer(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def outcome(path: str, headers: list[tuple[bytes, bytes]] | None = None, **kwargs: Any) -> str:
    """ "open" when the watcher stays connected, else "closed <code>"."""

    async def scenario() -> str:
        communicator = WebsocketCommunicator(application, path, headers=headers, **kwargs)
        connected, _ = await communicator.connect()
        assert connected
        try:
            if await communicator.receive_nothing(timeout=0.2):
                return "open"
            message = await communicator.receive_output()
            return f"closed {message.get('code')}"
        finally:
            await communicator.disconnect()

    return str(async_to_sync(scenario)())


def test_an_access_token_in_the_query_authenticates() -> None:
    token = tokens_for(make_user()).access
    assert outcome(f"{PATH}?token={token}") == "open"
    assert outcome(f"{PATH}?token={token}x") == "closed 4401"


def test_an_api_key_in_the_header_or_the_query_authenticates() -> None:
    user = make_user()
    key = api_key_for(user)
    assert outcome(PATH, headers=[(b"authorization", f"Api-Key {key}".encode())]) == "open"
    assert outcome(f"{PATH}?token={key}") == "open"
    ApiKey.objects.filter(user=user).update(revoked_at="2020-01-01T00:00:00Z")
    assert outcome(f"{PATH}?token={key}") == "closed 4401"


def test_a_subprotocol_carries_a_token() -> None:
    token = tokens_for(make_user()).access
    assert outcome(PATH, subprotocols=[f"dsta.bearer.{token}"]) == "open"


@pytest.mark.parametrize("path", [PATH, "/api/v1/notifications/stream"])
def test_the_accepted_socket_echoes_the_credential_subprotocol(path: str) -> None:
    """Browsers drop a socket whose handshake does not pick one of the offered subprotocols."""
    offered = f"dsta.bearer.{tokens_for(make_user()).access}"

    async def scenario() -> str | None:
        communicator = WebsocketCommunicator(application, path, subprotocols=[offered])
        connected, chosen = await communicator.connect()
        assert connected
        await communicator.disconnect()
        return chosen

    assert async_to_sync(scenario)() == offered


def test_no_credential_and_no_session_is_refused() -> None:
    assert outcome(PATH) == "closed 4401"


def test_the_credential_is_read_in_order_header_query_subprotocol() -> None:
    scope = {
        "headers": [(b"authorization", b"Bearer from-header")],
        "query_string": b"token=dsta_from_query",
        "subprotocols": ["dsta.api-key.from-subprotocol"],
    }
    assert credential_of(scope) == ("Bearer from-header", None)
    assert credential_of({**scope, "headers": []}) == ("Api-Key dsta_from_query", None)
    assert credential_of({**scope, "headers": [], "query_string": b""}) == (
        "Api-Key from-subprotocol",
        "dsta.api-key.from-subprotocol",
    )
