from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "domains.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Wire the config service: rpc registration, event subscription, key sync."""
        from django.db.models.signals import post_migrate

        from domains.core.api import ConfigApi
        from domains.core.events import ConfigChanged
        from domains.core.handlers import (
            CONFIG_WATCH_SUBSCRIBER,
            on_config_changed_push_to_watchers,
            sync_declared_keys_after_migrate,
        )
        from domains.core.services.config import ConfigService
        from dsta.kernel import rpc
        from dsta.kernel.bus import subscribe

        rpc.register(ConfigApi, ConfigService())
        subscribe(
            ConfigChanged, on_config_changed_push_to_watchers, subscriber=CONFIG_WATCH_SUBSCRIBER
        )
        post_migrate.connect(
            sync_declared_keys_after_migrate, sender=self, dispatch_uid="core.config_sync"
        )
