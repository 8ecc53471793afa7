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
        self._wire_auth_users_audit()
        self._wire_secrets_notifications()

    def _wire_auth_users_audit(self) -> None:
        """Auth, users and audit: rpc services, the config-change audit subscriber, Django's
        login signals (lockout + audit), default role of new users, role groups after migrate."""
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import post_migrate, post_save

        from domains.core.api import AuditApi, AuthApi, UsersApi
        from domains.core.events import ConfigChanged
        from domains.core.handlers import (
            CONFIG_AUDIT_SUBSCRIBER,
            ensure_roles_after_migrate,
            on_config_changed_audit,
            on_login_failed,
            on_user_created_give_default_role,
            on_user_logged_in,
        )
        from domains.core.services.audit import AuditService
        from domains.core.services.auth import AuthService
        from domains.core.services.users import UsersService
        from dsta.kernel import rpc
        from dsta.kernel.bus import subscribe

        rpc.register(AuthApi, AuthService())
        rpc.register(AuditApi, AuditService())
        rpc.register(UsersApi, UsersService())
        subscribe(ConfigChanged, on_config_changed_audit, subscriber=CONFIG_AUDIT_SUBSCRIBER)
        user_login_failed.connect(on_login_failed, dispatch_uid="core.login_failed")
        user_logged_in.connect(on_user_logged_in, dispatch_uid="core.user_logged_in")
        post_save.connect(
            on_user_created_give_default_role,
            sender=get_user_model(),
            dispatch_uid="core.default_role",
        )
        post_migrate.connect(ensure_roles_after_migrate, dispatch_uid="core.ensure_roles")

    def _wire_secrets_notifications(self) -> None:
        """Secrets and notifications: the secrets rpc service (reveal is exchange-only) and
        the subscriber that delivers other domains' NotificationRequested events."""
        from domains.core.adapters.log_redaction import install_log_redaction
        from domains.core.api import SecretsApi
        from domains.core.events import NotificationRequested
        from domains.core.handlers import (
            FILL_SUBSCRIBER,
            JOB_FINISHED_SUBSCRIBER,
            NOTIFICATION_REQUESTED_SUBSCRIBER,
            on_job_finished_notify_owner,
            on_notification_requested,
            on_order_filled_notify_owner,
        )
        from domains.core.services.secrets import SecretsService
        from domains.exchange.events import OrderFilled
        from dsta.kernel import rpc
        from dsta.kernel.bus import subscribe
        from dsta.kernel.jobs.events import JobFinished

        rpc.register(SecretsApi, SecretsService())
        subscribe(
            NotificationRequested,
            on_notification_requested,
            subscriber=NOTIFICATION_REQUESTED_SUBSCRIBER,
        )
        subscribe(JobFinished, on_job_finished_notify_owner, subscriber=JOB_FINISHED_SUBSCRIBER)
        subscribe(OrderFilled, on_order_filled_notify_owner, subscriber=FILL_SUBSCRIBER)
        # httpx logs request URLs: a Telegram URL carries the bot token.
        install_log_redaction()
