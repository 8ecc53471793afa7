"""Keep URL-borne secrets out of log lines: httpx writes every request URL at INFO, and a
Telegram URL carries the bot token (``/bot<token>/``) while a webhook URL's query string is
often its own secret (``?token=...``)."""

import logging
import re

_BOT_TOKEN_IN_URL = re.compile(r"/bot[^/\s\"']+/")
_URL_QUERY = re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*")
REDACTED_LOGGERS = ("httpx", "httpcore")


class RedactUrlSecrets(logging.Filter):
    """Rewrites ``/bot<token>/`` to ``/bot[redacted]/`` and a URL's query string to
    ``?[redacted]`` in a record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/bot" in message or "?" in message:
            message = _BOT_TOKEN_IN_URL.sub("/bot[redacted]/", message)
            record.msg = _URL_QUERY.sub(r"\1?[redacted]", message)
            record.args = ()
        return True


def install_log_redaction() -> None:
    """Attach the filter to the loggers that write request URLs (idempotent)."""
    for name in REDACTED_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(existing, RedactUrlSecrets) for existing in target.filters):
            target.addFilter(RedactUrlSecrets())
