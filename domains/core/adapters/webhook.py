"""Webhooks: POST a JSON body, signed with HMAC-SHA256 over ``"<timestamp>.<body>"``.

Headers: ``X-DSTA-Timestamp`` (Unix seconds) and ``X-DSTA-Signature`` (``sha256=<hex>``);
receivers check them with ``domains.core.api.verify_webhook_signature``. Redirects are not
followed, and unless private targets are allowed (local mode) a URL whose host resolves to a
loopback, private, link-local or reserved address is refused: a user-supplied URL must not
reach services inside our network.
"""

import ipaddress
import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from domains.core.adapters.delivery_errors import PermanentDeliveryError, TransientDeliveryError
from domains.core.api import WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER, sign_webhook

USER_AGENT = "dsta-webhooks/1"


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent (compact JSON, keys sorted)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def where(url: str) -> str:
    """What of ``url`` is safe to show in a delivery log: scheme and host (the path and the
    query of a webhook URL are often its secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


def check_target(url: str, *, allow_private: bool) -> None:
    """PermanentDeliveryError unless ``url`` is http(s) and (when private targets are not
    allowed) https to a host with only public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentDeliveryError("the webhook URL is not an http(s) URL")
    if allow_private:
        return
    if parts.scheme != "https":
        raise PermanentDeliveryError("webhooks must use https")
    try:
        resolved = socket.getaddrinfo(parts.hostname, parts.port or 443)
        addresses = {str(info[4][0]) for info in resolved}
    except OSError as exc:
        raise TransientDeliveryError(f"cannot resolve the webhook host {parts.hostname}") from exc
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            raise PermanentDeliveryError(
                f"the webhook host {parts.hostname} resolves to a non-public address"
            )


def post_webhook(
    *,
    url: str,
    payload: dict[str, Any],
    secret: str,
    timeout: float,
    allow_private: bool,
    now: float | None = None,
) -> None:
    """Sign and POST ``payload`` to ``url``; raises Transient/PermanentDeliveryError.

    2xx is delivered; 408, 429 and 5xx are worth retrying; any other answer (a 4xx, a
    redirect) is final.
    """
    check_target(url, allow_private=allow_private)
    body = webhook_body(payload)
    timestamp = int(time.time() if now is None else now)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        WEBHOOK_TIMESTAMP_HEADER: str(timestamp),
        WEBHOOK_SIGNATURE_HEADER: sign_webhook(secret=secret, timestamp=timestamp, body=body),
    }
    try:
        response = httpx.post(
            url, content=body, headers=headers, timeout=timeout, follow_redirects=False
        )
    except httpx.TimeoutException as exc:
        raise TransientDeliveryError(f"the webhook did not answer within {timeout}s") from exc
    except httpx.TransportError as exc:
        raise TransientDeliveryError(f"the webhook is unreachable ({type(exc).__name__})") from exc
    status = response.status_code
    if 200 <= status < 300:
        return
    error = f"webhook HTTP {status}"
    if status in (408, 429) or status >= 500:
        raise TransientDeliveryError(error, retry_after=_retry_after(response))
    raise PermanentDeliveryError(error)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None
