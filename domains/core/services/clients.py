"""What a request says about its client: address and user agent, for sessions and the audit
log. Only ``REMOTE_ADDR`` is trusted (a proxy in front sets it via the ASGI server's
``--proxy-headers``; a client-supplied X-Forwarded-For is not believed here)."""

from typing import Any

USER_AGENT_MAX_LENGTH = 200


def client_ip(request: Any) -> str:
    """The client's address, or "" when there is no request."""
    meta = getattr(request, "META", None) or {}
    return str(meta.get("REMOTE_ADDR") or "")


def client_user_agent(request: Any) -> str:
    """The client's User-Agent, cut to what a session row keeps."""
    meta = getattr(request, "META", None) or {}
    return str(meta.get("HTTP_USER_AGENT") or "")[:USER_AGENT_MAX_LENGTH]
