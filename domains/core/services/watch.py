"""Live configuration updates: fan ConfigChanged out to every connected watcher."""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from domains.core.events import ConfigChanged

# One channel-layer group for every watcher; consumers filter by key/environment themselves,
# which keeps the fan-out a single group_send however many filters are in use.
WATCH_GROUP = "core.config.watch"
WATCH_MESSAGE_TYPE = "config.changed"


def config_watch_message(event: ConfigChanged) -> dict[str, Any]:
    """The message every watcher receives for one change (also its JSON frame)."""
    return {
        "type": WATCH_MESSAGE_TYPE,
        "key": event.key,
        "environment": event.environment,
        "version": event.version,
        "value": event.value,
    }


def config_watch_broadcast(event: ConfigChanged) -> None:
    """Send the change to the watch group (a no-op when no channel layer is configured)."""
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(WATCH_GROUP, config_watch_message(event))
