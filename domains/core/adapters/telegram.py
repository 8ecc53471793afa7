"""Telegram: ``POST {api_base}/bot{token}/sendMessage`` with ``{"chat_id", "text"}``.

The bot token is part of the URL, so it is kept out of every message this module produces,
and ``log_redaction`` filters it out of httpx's request log lines.
"""

from typing import Any

import httpx

from domains.core.adapters.delivery_errors import PermanentDeliveryError, TransientDeliveryError
from domains.core.adapters.log_redaction import install_log_redaction

# Telegram's limit for one message's text.
TEXT_MAX_CHARS = 4096

install_log_redaction()


def telegram_text(*, subject: str, body: str) -> str:
    """The message text: the subject as its first line, within Telegram's length limit."""
    text = f"{subject}\n\n{body}" if subject else body
    return text if len(text) <= TEXT_MAX_CHARS else text[: TEXT_MAX_CHARS - 1] + "…"


def send_telegram(*, api_base: str, token: str, chat_id: str, text: str, timeout: float) -> None:
    """Send ``text`` to ``chat_id``; raises Transient/PermanentDeliveryError on failure."""
    if not token:
        raise PermanentDeliveryError("telegram is not configured (DSTA_TELEGRAM_BOT_TOKEN)")
    url = f"{api_base.rstrip('/')}/bot{token}/sendMessage"
    # Plain text (no parse_mode): a '<' or '*' in a message can never break the request.
    payload = {"chat_id": chat_id, "text": text, "disable_web_page_preview": True}
    try:
        response = httpx.post(url, json=payload, timeout=timeout, follow_redirects=False)
    except httpx.TimeoutException as exc:
        raise TransientDeliveryError(f"telegram did not answer within {timeout}s") from exc
    except httpx.TransportError as exc:
        # The exception's text may carry the URL, so only its type is kept.
        raise TransientDeliveryError(f"telegram unreachable ({type(exc).__name__})") from exc
    if response.status_code == 200:
        return
    description = _description(response)
    if response.status_code == 429:
        retry_after = _retry_after(response)
        raise TransientDeliveryError(
            f"telegram rate limit (HTTP 429): {description}", retry_after=retry_after
        )
    if response.status_code >= 500:
        raise TransientDeliveryError(f"telegram HTTP {response.status_code}: {description}")
    # 400 chat not found, 401 bad token, 403 bot blocked by the user...: final.
    raise PermanentDeliveryError(f"telegram HTTP {response.status_code}: {description}")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _description(response: httpx.Response) -> str:
    description = _json(response).get("description")
    return str(description)[:200] if description else response.reason_phrase


def _retry_after(response: httpx.Response) -> float | None:
    parameters = _json(response).get("parameters")
    value = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if value is None:
        value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
