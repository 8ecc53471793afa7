"""In-app notifications: pushed to the user's WebSocket group (``WS
/api/v1/notifications/stream``); the stored notification is the history."""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from domains.core.adapters.delivery_errors import TransientDeliveryError

# The message type the stream consumer handles (method notification_message).
IN_APP_MESSAGE_TYPE = "notification.message"


def user_group(user_id: int) -> str:
    """The channel-layer group of one user's open dashboard connections."""
    return f"core.notifications.user.{user_id}"


def push_in_app(*, user_id: int, notification: dict[str, Any]) -> None:
    """Send ``notification`` (JSON) to every open connection of the user.

    A user with no open connection gets nothing pushed (it is in their history); only a
    channel layer that cannot be reached is a failure.
    """
    layer = get_channel_layer()
    if layer is None:
        return  # no channel layer configured: history only
    try:
        async_to_sync(layer.group_send)(
            user_group(user_id), {"type": IN_APP_MESSAGE_TYPE, "notification": notification}
        )
    except (OSError, ConnectionError) as exc:
        raise TransientDeliveryError(f"channel layer unavailable: {type(exc).__name__}") from exc
