"""The core domain's handlers: of events (the config watch fan-out) and of Django signals."""

import logging
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import DEFAULT_DB_ALIAS, connections

from domains.core.api import AuditAction, declared_config_keys
from domains.core.events import ConfigChanged, NotificationRequested
from domains.core.models import ConfigKey
from domains.core.services.audit import audit_record
from domains.core.services.clients import client_ip
from domains.core.services.keys import config_keys_sync
from domains.core.services.lockout import register_login_failure
from domains.core.services.login import LOGIN_AUDITED_ATTRIBUTE
from domains.core.services.notifications import notification_send
from domains.core.services.roles import ensure_roles, give_default_role
from domains.core.services.watch import config_watch_broadcast
from domains.exchange.events import OrderFilled
from dsta.kernel.errors import DstaError
from dsta.kernel.jobs.events import JobFinished

logger = logging.getLogger(__name__)

# Subscriber names are stable ids: the bus keys its inbox (dedupe) on them.
CONFIG_WATCH_SUBSCRIBER = "core.config_watch"
CONFIG_AUDIT_SUBSCRIBER = "core.config_audit"


def on_config_changed_push_to_watchers(event: ConfigChanged) -> None:
    """Push every committed configuration change to the WebSocket watchers."""
    config_watch_broadcast(event)


def sync_declared_keys_after_migrate(using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """post_migrate receiver: store every key the domains declared in code.

    Skips quietly when the config tables do not exist yet (a partial ``migrate core 0000``),
    so migrations never fail because of it.
    """
    if using != DEFAULT_DB_ALIAS:
        return
    if ConfigKey._meta.db_table not in connections[using].introspection.table_names():
        return
    results = config_keys_sync(definitions=declared_config_keys())
    created = [result.key for result in results if result.created]
    if created:
        logger.info("config keys created: %s", ", ".join(created))


# --- authentication, users, audit ------------------------------------------------------------


def on_config_changed_audit(event: ConfigChanged) -> None:
    """Every committed configuration change goes into the audit log (not its value: the
    history keeps that; the log says who changed what, when)."""
    audit_record(
        action=AuditAction.CONFIG_CHANGED,
        user_id=event.changed_by,
        target=f"config:{event.key}@{event.environment}",
        details={"key": event.key, "environment": event.environment, "version": event.version},
    )


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    """``user_login_failed`` (API and admin logins alike): count the failure towards the
    lockout and audit it. ``credentials`` arrives with the password already masked."""
    username = str(credentials.get("username") or "")
    if not username:
        return
    ip = client_ip(request)
    locked_for = register_login_failure(username, ip)
    owner = get_user_model().objects.filter(username=username).values_list("pk", flat=True)
    user_id = next(iter(owner), None)
    audit_record(
        action=AuditAction.LOGIN_FAILED,
        user_id=user_id,
        username=username,
        details={"username": username},
        ip=ip,
    )
    if locked_for:
        audit_record(
            action=AuditAction.LOGIN_LOCKED,
            user_id=user_id,
            username=username,
            details={"username": username, "seconds": locked_for},
            ip=ip,
        )


def on_user_logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """``user_logged_in`` (a Django session login: admin, dashboard): audit it, unless the
    API login already did."""
    if request is not None and getattr(request, LOGIN_AUDITED_ATTRIBUTE, False):
        return
    audit_record(
        action=AuditAction.LOGIN,
        user_id=user.pk,
        username=user.get_username(),
        details={"method": "session"},
        ip=client_ip(request),
    )


def on_user_created_give_default_role(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """post_save of the user model: a new user starts as a viewer."""
    if created and not raw:
        give_default_role(instance)


def ensure_roles_after_migrate(
    sender: Any = None, using: str = DEFAULT_DB_ALIAS, **kwargs: Any
) -> None:
    """post_migrate receiver: the role groups exist with their permissions (also after the
    test runner's flushes, which empty the groups table)."""
    # post_migrate is sent once per installed app that has models; run once, after the last
    # of them, when every app's permissions exist.
    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if using != DEFAULT_DB_ALIAS or not with_models or sender is not with_models[-1]:
        return
    if Group._meta.db_table not in connections[using].introspection.table_names():
        return
    ensure_roles()


# Secrets and notifications.
NOTIFICATION_REQUESTED_SUBSCRIBER = "core.notifications"


def on_notification_requested(event: NotificationRequested) -> None:
    """Deliver a notification another domain asked for. A request that cannot be honoured
    (unknown user, template or channel; missing variables) is logged and dropped: the same
    event would fail the same way on every redelivery."""
    try:
        notification_send(
            owner_id=event.user_id,
            priority=event.priority,
            subject=event.subject,
            body=event.body,
            template=event.template,
            variables=event.variables if event.template is not None else None,
            channels=event.channels,
            # The event id makes a redelivered event one notification, whatever the inbox did.
            dedupe_key=event.dedupe_key or f"event:{event.id}",
            data=event.data,
            source=f"event:{event.source}"[:64],
        )
    except DstaError as exc:
        logger.warning(
            "notification request dropped",
            extra={
                "event_id": str(event.id),
                "source": event.source,
                "user_id": event.user_id,
                "code": exc.code,
                "reason": exc.message,
            },
        )


JOB_FINISHED_SUBSCRIBER = "core.job_notifications"
_JOB_PRIORITY = {"failed": "high", "succeeded": "normal", "cancelled": "low"}


def on_job_finished_notify_owner(event: JobFinished) -> None:
    """Tell a job's owner it finished (a failure with its reason, at high priority).

    System jobs (no owner) notify nobody. The user's channel preferences pick the channels.
    """
    if event.owner_id is None:
        return
    subject = f"{event.kind} {event.status}"
    body = f"Job {event.job_id} ({event.kind}) {event.status}."
    if event.error_code:
        body += f" {event.error_code}: {event.error_message or ''}".rstrip()
    try:
        notification_send(
            owner_id=event.owner_id,
            priority=_JOB_PRIORITY.get(event.status, "normal"),
            subject=subject,
            body=body,
            template=None,
            variables=None,
            channels=None,
            dedupe_key=f"job:{event.job_id}",
            data={"job_id": str(event.job_id), "kind": event.kind, "status": event.status},
            source="event:jobs",
        )
    except DstaError as exc:
        logger.warning(
            "job notification dropped",
            extra={"job_id": str(event.job_id), "code": exc.code, "reason": exc.message},
        )


FILL_SUBSCRIBER = "core.fill_notifications"


def on_order_filled_notify_owner(event: OrderFilled) -> None:
    """Tell the account's owner about a fill (low priority: fills are frequent; the user's
    preferences decide the channels). One notification per fill: keyed like the exchange
    ledger's fills (account, symbol, side, fill id), since venues number trades per market and
    both sides of a trade between two of our accounts carry the same id."""
    if event.owner_id is None:
        return
    order = event.client_order_id or event.venue_order_id or "?"
    fee = f"{event.fee} {event.fee_currency}" if event.fee_currency else f"{event.fee}"
    try:
        notification_send(
            owner_id=event.owner_id,
            priority="low",
            subject=f"{event.side} {event.amount} {event.symbol} @ {event.price}",
            body=(
                f"Order {order} on {event.venue} filled {event.amount} {event.symbol} at "
                f"{event.price} (fee {fee})."
            ),
            template=None,
            variables=None,
            channels=None,
            dedupe_key=(
                f"fill:{event.venue}:{event.account_id}:{event.symbol}:{event.side}:{event.fill_id}"
            ),
            data={
                "account_id": str(event.account_id),
                "venue": event.venue,
                "symbol": event.symbol,
                "side": event.side,
                "price": str(event.price),
                "amount": str(event.amount),
                "client_order_id": event.client_order_id,
            },
            source="event:exchange",
        )
    except DstaError as exc:
        logger.warning(
            "fill notification dropped",
            extra={"fill_id": event.fill_id, "code": exc.code, "reason": exc.message},
        )
