from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "domains.trading"
    label = "trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Declare trading's config keys, follow the kill switch and serve it to the other
        domains (the exchange refuses new orders while it is on)."""
        from domains.core.api import declare_config_key
        from domains.core.events import ConfigChanged
        from domains.trading.api import KillSwitchApi
        from domains.trading.handlers import (
            KILL_SWITCH_SUBSCRIBER,
            on_config_changed_update_kill_switch,
        )
        from domains.trading.services.kill_switch import (
            KILL_SWITCH_DEFINITION,
            InProcessKillSwitch,
        )
        from dsta.kernel import rpc
        from dsta.kernel.bus import subscribe

        rpc.register(KillSwitchApi, InProcessKillSwitch())
        declare_config_key(KILL_SWITCH_DEFINITION)
        subscribe(
            ConfigChanged, on_config_changed_update_kill_switch, subscriber=KILL_SWITCH_SUBSCRIBER
        )
