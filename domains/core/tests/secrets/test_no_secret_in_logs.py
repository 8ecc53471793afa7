"""No secret ever reaches a log line: values, webhook signing keys, the Telegram bot token.

Every logger is captured at DEBUG (httpx, which logs each request URL, included) while the
secret paths run: set over the API, reveal, rotation, undecryptable reads, bad bodies, and
Telegram and webhook deliveries. Then the plaintexts are grepped for in every record's
message and in every extra field (the JSON log lines carry them).
"""

import logging
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from domains.core.api import SecretsApi, SecretUndecryptable
from domains.core.services.notifications import notification_send
from domains.core.services.secrets import SecretsService, secret_read, secrets_rotate
from domains.core.tests.notifications.conftest import (  # noqa: F401 (fixtures)
    WEBHOOK_SECRET,
    attempt_all,
    recipient,
    telegram_peer,
    webhook_peer,
)
from domains.core.tests.notifications.peers import HttpPeer
from domains.core.tests.secrets.conftest import API_KEY, API_SECRET, PASSPHRASE, credentials

pytestmark = pytest.mark.django_db


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{record.getMessage()} {record.__dict__!r} {record.exc_text or ''}"
        for record in caplog.records
    )


def reveal_as_exchange(api: SecretsApi, **arguments: Any) -> Any:
    namespace: dict[str, Any] = {"__name__": "domains.exchange.services.probe"}
    exec("def reveal(api, **a):\n    return api.reveal(**a)\n", namespace)
    return namespace["reveal"](api, **arguments)


def test_secret_values_never_reach_a_log_line(
    caplog: pytest.LogCaptureFixture,
    make_user: Callable[..., Any],
    telegram_peer: HttpPeer,  # noqa: F811
    webhook_peer: HttpPeer,  # noqa: F811
    recipient: Callable[..., Any],  # noqa: F811
    settings: Any,
) -> None:
    for name in ("", "httpx", "httpcore", "django", "domains", "dsta"):
        caplog.set_level(logging.DEBUG, logger=name or None)
    trader = make_user("trader")
    client = APIClient()
    client.force_authenticate(trader)
    key = "exchange/binance/main"
    assert (
        client.put(
            f"/api/v1/config/secrets/{key}",
            {"kind": "exchange_credentials", "value": credentials()},
            format="json",
        ).status_code
        == 201
    )
    # A bad body that carries a value, and a refused reveal.
    client.put(
        f"/api/v1/config/secrets/{key}",
        {"kind": "exchange_credentials", "value": {"api_key": API_KEY}},
        format="json",
    )
    service = SecretsService()
    with pytest.raises(Exception, match="only the exchange"):
        service.reveal(owner_id=trader.pk, key=key, caller="exchange")
    assert reveal_as_exchange(service, owner_id=trader.pk, key=key, caller="exchange").secret == (
        API_SECRET
    )
    secrets_rotate()
    # A delivery on each channel that reads or carries a secret, one of them failing.
    user = recipient(telegram=telegram_peer, webhook=webhook_peer)
    attempt_all(
        notification_send(
            owner_id=user.pk, body="b", channels=["telegram", "webhook"], dispatch=False
        ).notification
    )
    telegram_peer.respond = lambda request: (401, {"ok": False, "description": "Unauthorized"})
    attempt_all(
        notification_send(
            owner_id=user.pk, body="c", channels=["telegram"], dedupe_key="2", dispatch=False
        ).notification
    )
    # An undecryptable secret is logged by name only.
    settings.DSTA_SECRETS_KEYS = ["kOWLwFd1rJNOqk_ywXGzbNdZNhS3T5R6rPqFN9PbLnk="]
    with pytest.raises(SecretUndecryptable):
        secret_read(owner_id=trader.pk, key=key, reader="test")

    logged = everything_logged(caplog)
    assert "secret" in logged  # the paths above did log (by name)
    assert "/bot[redacted]/sendMessage" in logged  # httpx's request line, redacted
    assert "/hooks/dsta?[redacted]" in logged
    for plaintext in (
        API_KEY,
        API_SECRET,
        PASSPHRASE,
        WEBHOOK_SECRET,
        settings.DSTA_TELEGRAM_BOT_TOKEN,
        "path-secret",  # the webhook URL's query
    ):
        assert plaintext not in logged, plaintext
