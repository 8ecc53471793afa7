"""WebSockets of the core domain: ``/api/v1/config/watch`` (live configuration changes) and
``/api/v1/notifications/stream`` (a user's in-app notifications), for signed-in users."""

from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from domains.core.adapters.in_app import user_group
from domains.core.api import DEFAULT_ENVIRONMENT
from domains.core.services.watch import WATCH_GROUP

# Close codes in the private 4000-4999 range; 4401 mirrors HTTP 401, 4400 mirrors HTTP 400.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_BAD_REQUEST = 4400
MAX_FILTER_KEYS = 100


class ConfigWatchConsumer(AsyncJsonWebsocketConsumer):
    """Sends ``{"type": "config.changed", key, environment, version, value}`` per write.

    Query parameters: ``keys=a,b`` limits the frames to those keys; ``environment=paper``
    limits them to writes of that environment and of "default" (its fallback). Watchers only
    receive; anything they send is ignored.
    """

    keys: frozenset[str] | None = None
    environment: str | None = None
    joined = False

    async def connect(self) -> None:
        """Accept signed-in users and join the watch group; close with 4401 otherwise."""
        user = self.scope.get("user")
        # Accept before closing so the client sees the close code instead of a bare refusal;
        # echo the token subprotocol a browser offered, or strict clients drop the socket.
        await self.accept(subprotocol=self.scope.get("auth_subprotocol"))
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        keys = [k for part in query.get("keys", []) for k in part.split(",") if k.strip()]
        if len(keys) > MAX_FILTER_KEYS:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        self.keys = frozenset(k.strip() for k in keys) or None
        self.environment = (query.get("environment") or [None])[0] or None
        await self.channel_layer.group_add(WATCH_GROUP, self.channel_name)
        self.joined = True

    async def disconnect(self, code: int) -> None:
        """Leave the group (if the connection got that far)."""
        if self.joined:
            await self.channel_layer.group_discard(WATCH_GROUP, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """Watchers are read-only: incoming frames (JSON or not) are ignored, not parsed."""

    async def config_changed(self, message: dict[str, Any]) -> None:
        """A ``config.changed`` group message: forward it if it passes the filters."""
        if self.keys is not None and message["key"] not in self.keys:
            return
        if self.environment is not None and message["environment"] not in {
            self.environment,
            DEFAULT_ENVIRONMENT,
        }:
            return
        await self.send_json(
            {name: message[name] for name in ("type", "key", "environment", "version", "value")}
        )


class NotificationStreamConsumer(AsyncJsonWebsocketConsumer):
    """``WS /api/v1/notifications/stream``: the signed-in user's in-app notifications, live.

    Each in-app delivery sends ``{"type": "notification", "notification": {id, user_id,
    priority, subject, body, template, data, source, created_at}}``. One group per user, so a
    user only ever receives their own; past notifications are in ``GET .../history``.
    Anything the client sends is ignored.
    """

    group: str | None = None

    async def connect(self) -> None:
        """Accept signed-in users into their own group; close with 4401 otherwise."""
        user = self.scope.get("user")
        await self.accept(subprotocol=self.scope.get("auth_subprotocol"))
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group = user_group(int(user.pk))
        await self.channel_layer.group_add(self.group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        """Leave the user's group (if the connection got that far)."""
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """The stream is one-way: incoming frames are ignored, not parsed."""

    async def notification_message(self, message: dict[str, Any]) -> None:
        """A ``notification.message`` group message: forward the notification."""
        await self.send_json({"type": "notification", "notification": message["notification"]})
