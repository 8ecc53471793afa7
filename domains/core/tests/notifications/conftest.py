"""Fixtures of the notification tests: users, real channel peers, fast retries."""

from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest
from django.contrib.auth.models import Group

from domains.core.api import WEBHOOK_SIGNING_SECRET_KEY, verify_webhook_signature
from domains.core.models import DeliveryLog, Notification
from domains.core.services.notification_delivery import delivery_attempt
from domains.core.services.notification_preferences import notification_preferences_set
from domains.core.services.secrets import secret_set
from domains.core.tests.notifications.peers import (
    HttpPeer,
    ReceivedRequest,
    SmtpPeer,
    http_server,
    smtp_server,
)

WEBHOOK_SECRET = "whsec-test-signing-key-5d0c"


@pytest.fixture
def make_user(django_user_model: Any) -> Callable[..., Any]:
    """``make_user(role="viewer", email=...)`` creates a user holding exactly that role."""

    def make(role: str = "viewer", **extra: Any) -> Any:
        user = django_user_model.objects.create_user(username=f"n{uuid4().hex[:10]}", **extra)
        user.groups.set([Group.objects.get_or_create(name=role)[0]])
        return user

    return make


@pytest.fixture
def smtp_peer(settings: Any) -> Iterator[SmtpPeer]:
    """A real SMTP server, and Django's SMTP backend pointed at it."""
    with smtp_server() as peer:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = peer.host, peer.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 5
        settings.DEFAULT_FROM_EMAIL = "alerts@dsta.test"
        yield peer


@pytest.fixture
def telegram_peer(settings: Any) -> Iterator[HttpPeer]:
    """An HTTP server standing in for the Telegram Bot API, with a bot token for it."""
    with http_server() as peer:
        settings.DSTA_TELEGRAM_API_BASE = peer.url
        settings.DSTA_TELEGRAM_BOT_TOKEN = f"123456:TEST-{uuid4().hex}"
        peer.respond = lambda request: (200, {"ok": True, "result": {"message_id": 1}})
        yield peer


def signature_verified(request: ReceivedRequest, secret: str = WEBHOOK_SECRET) -> bool:
    """What a receiver does: check X-DSTA-Signature over X-DSTA-Timestamp and the raw body."""
    return verify_webhook_signature(
        secret=secret,
        body=request.body,
        timestamp=request.headers.get("x-dsta-timestamp", ""),
        signature=request.headers.get("x-dsta-signature", ""),
    )


@pytest.fixture
def webhook_peer(settings: Any) -> Iterator[HttpPeer]:
    """A webhook receiver that verifies the signature: 200 when it holds, else 401."""
    with http_server() as peer:
        settings.DSTA_NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
        peer.respond = lambda request: (
            (200, {"received": True}) if signature_verified(request) else (401, {"bad": 1})
        )
        yield peer


@pytest.fixture
def fast_retries(settings: Any) -> None:
    settings.DSTA_NOTIFICATIONS_RETRY_BASE_SECONDS = 0.05
    settings.DSTA_NOTIFICATIONS_RETRY_MAX_SECONDS = 0.2
    settings.DSTA_NOTIFICATIONS_MAX_ATTEMPTS = 4


@pytest.fixture
def recipient(make_user: Callable[..., Any]) -> Callable[..., Any]:
    """``recipient(telegram=peer, webhook=peer)``: a user with an email address and, when
    given, a Telegram chat id and a webhook URL (with its signing secret)."""

    def make(*, telegram: HttpPeer | None = None, webhook: HttpPeer | None = None) -> Any:
        user = make_user(email=f"{uuid4().hex[:8]}@example.test")
        document: dict[str, Any] = {}
        if telegram is not None:
            document["telegram_chat_id"] = "424242"
        if webhook is not None:
            document["webhook_url"] = f"{webhook.url}/hooks/dsta?token=path-secret"
            secret_set(
                owner_id=user.pk,
                key=WEBHOOK_SIGNING_SECRET_KEY,
                kind="generic",
                value=WEBHOOK_SECRET,
            )
        notification_preferences_set(owner_id=user.pk, document=document)
        return user

    return make


def attempt_all(notification: Notification) -> list[DeliveryLog]:
    """One attempt at each due delivery of ``notification`` (in this thread); the logs."""
    for log in notification.deliveries.all():
        delivery_attempt(delivery_id=log.pk)
    return list(notification.deliveries.order_by("channel"))
