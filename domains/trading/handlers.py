"""The trading domain's handlers of other domains' events."""

from domains.core.events import ConfigChanged
from domains.trading.services.kill_switch import KILL_SWITCH_KEY, kill_switch_apply_change

# Stable subscriber id: the bus's inbox dedupes redeliveries on it.
KILL_SWITCH_SUBSCRIBER = "trading.kill_switch"


def on_config_changed_update_kill_switch(event: ConfigChanged) -> None:
    """Keep the in-process kill switch in step with the configuration (other keys: ignored)."""
    if event.key != KILL_SWITCH_KEY:
        return
    kill_switch_apply_change(
        environment=event.environment, version=event.version, value=event.value
    )
