"""WebSocket authentication (channels middleware, wired in by ``dsta/asgi.py``).

A connection may carry a credential, read in this order:

1. ``Authorization: Bearer <access token>`` or ``Api-Key <key>`` header (non-browser clients);
2. ``?token=<access token or key>`` in the URL (browsers cannot set headers; keys are told
   apart by their ``dsta_`` prefix);
3. a subprotocol ``dsta.bearer.<token>`` or ``dsta.api-key.<key>``; the consumer should accept
   with ``subprotocol=scope["auth_subprotocol"]``.

With a valid credential, ``scope["user"]`` is a ``PrincipalUser`` and ``scope["principal"]`` its
``Principal``; with an invalid one the user is anonymous (consumers close with 4401). Without
any, the session user set by ``AuthMiddlewareStack`` stays.
"""

import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from domains.core.api import auth_api
from dsta.kernel.errors import DstaError
from dsta.kernel.principal import Principal, PrincipalUser

logger = logging.getLogger(__name__)
API_KEY_PREFIX = "dsta_"
SUBPROTOCOL_BEARER = "dsta.bearer."
SUBPROTOCOL_API_KEY = "dsta.api-key."


def _as_authorization(token: str) -> str:
    scheme = "Api-Key" if token.startswith(API_KEY_PREFIX) else "Bearer"
    return f"{scheme} {token}"


def credential_of(scope: dict[str, Any]) -> tuple[str, str | None]:
    """``(Authorization header value or "", the subprotocol that carried it or None)``."""
    for name, value in scope.get("headers") or []:
        if name.lower() == b"authorization":
            return value.decode("latin-1").strip(), None
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    token = (query.get("token") or [""])[0].strip()
    if token:
        return _as_authorization(token), None
    for subprotocol in scope.get("subprotocols") or []:
        if subprotocol.startswith(SUBPROTOCOL_BEARER):
            return f"Bearer {subprotocol[len(SUBPROTOCOL_BEARER) :]}", subprotocol
        if subprotocol.startswith(SUBPROTOCOL_API_KEY):
            return f"Api-Key {subprotocol[len(SUBPROTOCOL_API_KEY) :]}", subprotocol
    return "", None


@database_sync_to_async
def _validate(authorization: str) -> Principal | None:
    try:
        return auth_api().validate(authorization=authorization)
    except DstaError as exc:
        # The reason, never the credential.
        logger.info("websocket credential refused: %s", exc.code)
        return None


class TokenAuthMiddleware(BaseMiddleware):
    """Authenticates WebSocket connections by access token or API key."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") == "websocket":
            authorization, subprotocol = credential_of(scope)
            if authorization:
                principal = await _validate(authorization)
                scope = {
                    **scope,
                    "user": PrincipalUser(principal) if principal else AnonymousUser(),
                    "principal": principal,
                    "auth_subprotocol": subprotocol,
                }
        return await super().__call__(scope, receive, send)
