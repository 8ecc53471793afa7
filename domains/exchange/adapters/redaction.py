"""Secrets out of anything we store or print about a venue request.

What a signed venue request carries, by venue (from their API docs):

- Binance: the API key in the ``X-MBX-APIKEY`` header, ``signature=`` in the query/body, and
  user-data-stream ``listenKey`` values (a bearer token for the account's private stream) in
  response bodies, query strings and websocket URL paths.
- Gate.io: ``KEY`` and ``SIGN`` headers.
- HTX: ``AccessKeyId=`` and ``Signature=`` in the query string.

Names that look secret are masked wherever they appear (query, form body, JSON, headers), and
so is any literal value the caller knows to be secret (the credential's key and secret).
"""

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# Field and header names whose values are secrets (case-insensitive, whole name).
_SECRET_NAMES = re.compile(
    r"^(x-mbx-apikey|key|sign|signature|accesskeyid|apikey|api[_-]?key|secret|api[_-]?secret|"
    r"passphrase|password|listenkey|listen[_-]?key|authorization|cookie|set-cookie|token|"
    r"access[_-]?token|x-api-key|x-signature|ok-access-key|ok-access-sign|ok-access-passphrase)$",
    re.IGNORECASE,
)
# name=value pairs inside free text (error messages, URLs embedded in text).
_SECRET_PAIRS = re.compile(
    r"\b(?P<name>signature|accesskeyid|apikey|api_key|listenkey|key|sign)=(?P<value>[^&\s\"',]+)",
    re.IGNORECASE,
)
# "listenKey": "..." inside JSON-ish text that failed to parse.
_SECRET_JSON_PAIRS = re.compile(
    r"(?P<head>\"(?:listenKey|apiKey|api_key|signature|secret|passphrase|token)\"\s*:\s*\")"
    r"(?P<value>[^\"]*)\"",
    re.IGNORECASE,
)
# Binance user-data streams: wss://stream.binance.com:9443/ws/<listenKey>
_WS_LISTEN_KEY_PATH = re.compile(r"(/ws/|/stream\?streams=)([A-Za-z0-9]{40,})")
MIN_LITERAL = 6  # shorter "secrets" would mask innocent text


def is_secret_name(name: str) -> bool:
    """Whether a field or header called ``name`` carries a secret."""
    return bool(_SECRET_NAMES.match(name.strip()))


def redact_text(text: str, literals: Iterable[str] = ()) -> str:
    """``text`` with secret name=value pairs, JSON secret fields, listenKey URL paths and the
    given literal secrets replaced by ``***``."""
    for literal in sorted({s for s in literals if s and len(s) >= MIN_LITERAL}, key=len)[::-1]:
        text = text.replace(literal, MASK)
    text = _SECRET_PAIRS.sub(lambda m: f"{m.group('name')}={MASK}", text)
    text = _SECRET_JSON_PAIRS.sub(lambda m: f'{m.group("head")}{MASK}"', text)
    return _WS_LISTEN_KEY_PATH.sub(lambda m: f"{m.group(1)}{MASK}", text)


def redact_url(url: str, literals: Iterable[str] = ()) -> str:
    """``url`` with secret query parameters masked (and literal secrets anywhere in it)."""
    parts = urlsplit(url)
    query = urlencode(
        [
            (name, MASK if is_secret_name(name) else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return redact_text(urlunsplit(parts._replace(query=query)), literals)


def redact_headers(headers: Mapping[str, str], literals: Iterable[str] = ()) -> dict[str, str]:
    """``headers`` with every secret-named header masked."""
    secrets = list(literals)
    return {
        str(name): MASK if is_secret_name(str(name)) else redact_text(str(value), secrets)
        for name, value in headers.items()
    }


def redact_body(body: str, literals: Iterable[str] = ()) -> str:
    """A request or response body (JSON, urlencoded form or text) with secrets masked."""
    secrets = list(literals)
    if not body:
        return body
    stripped = body.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            document = json.loads(body)
        except ValueError:
            return redact_text(body, secrets)
        return redact_text(json.dumps(_redact_json(document), separators=(",", ":")), secrets)
    if "=" in body and " " not in body.strip():
        pairs = parse_qsl(body, keep_blank_values=True)
        if pairs:
            return redact_text(
                urlencode(
                    [(n, MASK if is_secret_name(n) else v) for n, v in pairs],
                    safe="*",
                ),
                secrets,
            )
    return redact_text(body, secrets)


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: MASK if is_secret_name(str(key)) and item is not None else _redact_json(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_json(item) for item in value]
    return value
