"""Each channel against a real local peer: SMTP, the Telegram Bot API, a webhook receiver
that verifies the HMAC signature, and the in-app WebSocket stream."""

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.urls import path

from domains.core.api import sign_webhook, verify_webhook_signature
from domains.core.consumers import NotificationStreamConsumer
from domains.core.models import DeliveryLog, Notification
from domains.core.services.notification_delivery import delivery_attempt
from domains.core.services.notifications import notification_send
from domains.core.services.secrets import secret_set
from domains.core.services.users import preferences_set
from domains.core.tests.notifications.conftest import WEBHOOK_SECRET, attempt_all
from domains.core.tests.notifications.peers import HttpPeer, SmtpPeer

pytestmark = pytest.mark.django_db
# The route as dsta/routing.py mounts it (the composition root is not imported from here).
STREAM_ROUTES = URLRouter(
    [path("api/v1/notifications/stream", NotificationStreamConsumer.as_asgi())]
)


def send(user: Any, channels: list[str], **extra: Any) -> Notification:
    return notification_send(
        owner_id=user.pk,
        subject="BTC/USDT filled",
        body="Bought 0.5 BTC at 64000 <limit> & done",
        channels=channels,
        dispatch=False,
        **extra,
    ).notification


def test_email_reaches_the_smtp_server(smtp_peer: SmtpPeer, recipient: Callable[..., Any]) -> None:
    user = recipient()
    notification = send(user, ["email"])
    [log] = attempt_all(notification)
    assert (log.status, log.attempts, log.destination) == ("sent", 1, user.email)
    [mail] = smtp_peer.received
    assert mail.recipients == [user.email]
    assert mail.sender == "alerts@dsta.test"
    assert mail.message["Subject"] == "BTC/USDT filled"
    assert mail.message["X-DSTA-Notification"] == str(notification.pk)
    payload = mail.message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert "Bought 0.5 BTC at 64000 <limit> & done" in payload.decode()
    notification.refresh_from_db()
    assert notification.status == "delivered"


def test_a_refused_recipient_fails_at_once_and_a_4xx_is_retried(
    smtp_peer: SmtpPeer, recipient: Callable[..., Any], fast_retries: None
) -> None:
    refused, later = recipient(), recipient()
    smtp_peer.refuse[refused.email] = "550 5.1.1 no such user"
    [log] = attempt_all(send(refused, ["email"]))
    assert (log.status, log.attempts, log.next_retry_at) == ("failed", 1, None)
    assert "550" in log.last_error
    smtp_peer.transient_failures = smtp_peer.rcpt_attempts + 1
    [log] = attempt_all(send(later, ["email"]))
    assert (log.status, log.attempts) == ("retrying", 1)
    assert "451" in log.last_error
    assert log.next_retry_at is not None


def test_telegram_gets_the_message_from_the_bot(
    telegram_peer: HttpPeer, recipient: Callable[..., Any], settings: Any
) -> None:
    user = recipient(telegram=telegram_peer)
    [log] = attempt_all(send(user, ["telegram"]))
    assert (log.status, log.destination) == ("sent", "chat 424242")
    [request] = telegram_peer.requests
    assert request.path == f"/bot{settings.DSTA_TELEGRAM_BOT_TOKEN}/sendMessage"
    assert request.json() == {
        "chat_id": "424242",
        "text": "BTC/USDT filled\n\nBought 0.5 BTC at 64000 <limit> & done",
        "disable_web_page_preview": True,
    }


def test_telegram_errors_are_classified_and_never_carry_the_token(
    telegram_peer: HttpPeer, recipient: Callable[..., Any], settings: Any, fast_retries: None
) -> None:
    user = recipient(telegram=telegram_peer)
    telegram_peer.respond = lambda request: (
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
    )
    [log] = attempt_all(send(user, ["telegram"]))
    assert (log.status, log.attempts) == ("failed", 1)
    assert log.last_error == "telegram HTTP 400: Bad Request: chat not found"
    telegram_peer.respond = lambda request: (
        429,
        {"ok": False, "description": "Too Many Requests", "parameters": {"retry_after": 3}},
    )
    settings.DSTA_NOTIFICATIONS_RETRY_MAX_SECONDS = 60
    [log] = attempt_all(send(user, ["telegram"], dedupe_key="second"))
    assert log.status == "retrying"
    # The peer's retry_after (3 s) beats the 0.05 s backoff.
    assert log.next_retry_at is not None
    assert 2.5 < (log.next_retry_at - log.updated_at).total_seconds() <= 3.0
    settings.DSTA_TELEGRAM_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    [log] = attempt_all(send(user, ["telegram"], dedupe_key="third"))
    assert log.status == "retrying"
    for row in DeliveryLog.objects.all():
        assert settings.DSTA_TELEGRAM_BOT_TOKEN not in row.last_error


def test_a_webhook_is_signed_and_the_receiver_verifies_it(
    webhook_peer: HttpPeer, recipient: Callable[..., Any]
) -> None:
    user = recipient(webhook=webhook_peer)
    notification = send(user, ["webhook"], data={"order_id": "o-1"})
    [log] = attempt_all(notification)
    assert log.status == "sent", log.last_error
    # The log shows where it went, not the URL's path or query (often the URL's secret).
    assert log.destination == webhook_peer.url
    [request] = webhook_peer.requests
    assert request.path == "/hooks/dsta?token=path-secret"
    assert request.headers["content-type"] == "application/json"
    assert abs(int(request.headers["x-dsta-timestamp"]) - time.time()) < 60
    signed = f"{request.headers['x-dsta-timestamp']}.".encode() + request.body
    expected = hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert request.headers["x-dsta-signature"] == f"sha256={expected}"
    body = request.json()
    assert body["type"] == "notification"
    assert body["notification"]["id"] == str(notification.pk)
    assert body["notification"]["data"] == {"order_id": "o-1"}
    assert body["notification"]["body"] == "Bought 0.5 BTC at 64000 <limit> & done"


def test_the_receiver_refuses_a_wrong_signature_and_the_delivery_fails(
    webhook_peer: HttpPeer, recipient: Callable[..., Any]
) -> None:
    user = recipient(webhook=webhook_peer)
    secret_set(
        owner_id=user.pk,
        key="notifications.webhook_signing_key",
        kind="generic",
        value="not-what-the-receiver-holds",
    )
    [log] = attempt_all(send(user, ["webhook"]))
    assert (log.status, log.last_error, log.attempts) == ("failed", "webhook HTTP 401", 1)


def test_signature_verification_rules() -> None:
    body = json.dumps({"a": 1}).encode()
    now = 1_700_000_000
    signature = sign_webhook(secret="k", timestamp=now, body=body)
    ok: dict[str, Any] = {
        "secret": "k",
        "body": body,
        "timestamp": str(now),
        "signature": signature,
    }
    assert verify_webhook_signature(**ok, now=now + 10)
    assert not verify_webhook_signature(**{**ok, "body": body + b" "}, now=now)
    assert not verify_webhook_signature(**{**ok, "secret": "other"}, now=now)
    assert not verify_webhook_signature(**{**ok, "timestamp": str(now + 1)}, now=now)
    assert not verify_webhook_signature(**ok, now=now + 301)  # a replay, too late
    assert not verify_webhook_signature(**{**ok, "timestamp": "soon"}, now=now)
    assert not verify_webhook_signature(**{**ok, "signature": "sha256=00"}, now=now)


def test_private_webhook_targets_are_refused_unless_allowed(
    webhook_peer: HttpPeer, recipient: Callable[..., Any], settings: Any
) -> None:
    user = recipient(webhook=webhook_peer)
    settings.DSTA_NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = False
    [log] = attempt_all(send(user, ["webhook"]))
    assert log.status == "failed"
    assert log.last_error == "webhooks must use https"
    assert webhook_peer.requests == []


@pytest.mark.django_db(transaction=True)
def test_in_app_is_pushed_to_the_users_stream_only(
    settings: Any, make_user: Callable[..., Any]
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    alice, bob = make_user(), make_user()

    async def scenario() -> None:
        streams = {}
        for user in (alice, bob):
            stream = WebsocketCommunicator(STREAM_ROUTES, "/api/v1/notifications/stream")
            stream.scope["user"] = user
            assert (await stream.connect())[0]
            streams[user.pk] = stream
        notification = await database_sync_to_async(send)(alice, ["in_app"])
        [log] = await database_sync_to_async(attempt_all)(notification)
        assert log.status == "sent"
        frame = await streams[alice.pk].receive_json_from(timeout=5)
        assert frame["type"] == "notification"
        assert frame["notification"]["id"] == str(notification.pk)
        assert frame["notification"]["subject"] == "BTC/USDT filled"
        assert await streams[bob.pk].receive_nothing(timeout=0.2)
        for stream in streams.values():
            await stream.disconnect()

    async_to_sync(scenario)()


def test_the_stream_refuses_anonymous_connections() -> None:
    async def scenario() -> None:
        stream = WebsocketCommunicator(STREAM_ROUTES, "/api/v1/notifications/stream")
        stream.scope["user"] = AnonymousUser()
        await stream.connect()
        assert (await stream.receive_output(timeout=2))["code"] == 4401

    async_to_sync(scenario)()


def test_a_delivery_is_attempted_once_however_many_messages_arrive(
    smtp_peer: SmtpPeer, recipient: Callable[..., Any]
) -> None:
    notification = send(recipient(), ["email"])
    [log] = notification.deliveries.all()
    assert delivery_attempt(delivery_id=log.pk).status == "sent"
    assert delivery_attempt(delivery_id=log.pk).status == "sent"  # a duplicate message
    assert len(smtp_peer.received) == 1
    assert delivery_attempt(delivery_id=10**9).status == "gone"


def test_a_held_delivery_goes_out_when_quiet_hours_end(
    smtp_peer: SmtpPeer, recipient: Callable[..., Any]
) -> None:
    user = recipient()
    preferences_set(user_id=user.pk, document={"quiet_hours": {"start": "22:00", "end": "07:00"}})
    night = datetime(2025, 3, 1, 23, 0, tzinfo=UTC)
    notification = send(user, ["email"], now=night)
    [log] = notification.deliveries.all()
    assert (log.status, log.next_retry_at) == ("held", night + timedelta(hours=8))
    early = delivery_attempt(delivery_id=log.pk, now=night + timedelta(hours=1))
    assert early.wait == 7 * 3600  # the message comes back when the window ends
    assert smtp_peer.received == []
    assert delivery_attempt(delivery_id=log.pk, now=night + timedelta(hours=8)).status == "sent"
    assert len(smtp_peer.received) == 1
