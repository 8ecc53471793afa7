"""``manage.py send_test_notification``: one channel, first attempt made at once."""

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from domains.core.models import DeliveryLog
from domains.core.tests.notifications.peers import HttpPeer, SmtpPeer

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("send_test_notification", *args, stdout=out)
    return out.getvalue()


def test_email_and_telegram_test_messages(
    smtp_peer: SmtpPeer, telegram_peer: HttpPeer, recipient: Callable[..., Any]
) -> None:
    user = recipient(telegram=telegram_peer)
    assert run("--user", user.username, "--channel", "email").startswith(
        f"email: sent to {user.email}"
    )
    assert smtp_peer.received[0].message["Subject"] == "DSTA test notification"
    assert "telegram: sent" in run("-u", str(user.pk), "-c", "telegram", "-m", "ping")
    assert telegram_peer.requests[0].json()["text"].endswith("ping")


def test_webhook_and_in_app_test_messages(
    webhook_peer: HttpPeer, recipient: Callable[..., Any]
) -> None:
    user = recipient(webhook=webhook_peer)
    assert "webhook: sent" in run("-u", user.username, "-c", "webhook")
    assert len(webhook_peer.requests) == 1
    assert "in_app: sent" in run("-u", user.username, "-c", "inapp")  # the alias works too


def test_failures_exit_non_zero_with_the_reason(
    telegram_peer: HttpPeer, recipient: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    with pytest.raises(CommandError, match="no email address"):
        run("-u", make_user().username, "-c", "email")
    user = recipient(telegram=telegram_peer)
    telegram_peer.respond = lambda request: (503, {"ok": False, "description": "busy"})
    with pytest.raises(CommandError, match=r"attempt 1 failed .* the worker retries at"):
        run("-u", user.username, "-c", "telegram")
    assert DeliveryLog.objects.filter(status="retrying").count() == 1
    with pytest.raises(CommandError, match="no user"):
        run("-u", "ghost", "-c", "email")
    with pytest.raises(CommandError):
        run("-u", user.username, "-c", "pigeon")
