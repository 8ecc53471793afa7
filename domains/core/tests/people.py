"""Test helpers: users with a role, and API clients signed in with a token or an API key.

Tokens and keys come from the real services (the same code the endpoints use); only the
password hashing is skipped where a test does not log in with a password, because Argon2 is
deliberately slow.
"""

from typing import Any
from uuid import uuid4

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from domains.core.services.api_keys import api_key_create
from domains.core.services.roles import user_set_role
from domains.core.services.tokens import IssuedTokens, session_start

# Passes Django's password validators (length, not common, not numeric, not like the name).
PASSWORD = "orbit-Velvet-cactus-1987"


def make_user(role: str = "viewer", *, password: str | None = None, username: str = "") -> Any:
    """A new active user holding ``role`` (a password only when asked: hashing is slow)."""
    user = get_user_model().objects.create_user(
        username=username or f"{role}-{uuid4().hex[:10]}", password=password
    )
    user_set_role(user=user, role=role)
    return user


def tokens_for(user: Any) -> IssuedTokens:
    """A fresh token session for ``user``, as a login would open."""
    return session_start(user=user)


def bearer_client(user: Any) -> APIClient:
    """An API client sending ``Authorization: Bearer <access token of a new session>``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user).access}")
    return client


def api_key_for(user: Any, scopes: tuple[str, ...] = ("read",), **kwargs: Any) -> str:
    """A new API key of ``user`` with ``scopes``."""
    _, key = api_key_create(user_id=user.pk, scopes=scopes, **kwargs)
    return key


def key_client(user: Any, scopes: tuple[str, ...] = ("read",)) -> APIClient:
    """An API client sending ``Authorization: Api-Key <a new key>``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(user, scopes)}")
    return client


def error_of(response: Any) -> dict[str, Any]:
    """The ``error`` object of a response in the one error format (asserting the format)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return dict(body["error"])
