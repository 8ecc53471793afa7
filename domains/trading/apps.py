from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "domains.trading"
    label = "trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Declare trading's config keys and follow the kill switch."""
        from domains.core.api import declare_config_key
        from domains.core.events import ConfigChanged
        from domains.trading.handlers import (
            KILL_SWITCH_SUBSCRIBER,
            on_config_changed_update_kill_switch,
        )
        from domains.trading.services.kill_switch import KILL_SWITCH_DEFINITION
        from dsta.kernel.bus import subscribe

        declare_config_key(KILL_SWITCH_DEFINITION)
        subscribe(
            ConfigChanged, on_config_changed_update_kill_switch, subscriber=KILL_SWITCH_SUBSCRIBER
        )
