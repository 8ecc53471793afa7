"""Security properties: Argon2 password hashes, constant-time comparisons of keys and tokens,
and no credential ever written to a log line."""

import hashlib
import hmac
import logging
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import identify_hasher
from rest_framework.test import APIClient

from domains.core.services.api_keys import api_key_authenticate, api_key_create
from domains.core.services.tokens import session_refresh, session_start
from domains.core.tests.people import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_passwords_are_hashed_with_argon2id() -> None:
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    user = make_user(password=PASSWORD)
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$")
    assert PASSWORD not in user.password


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """Every call of hmac.compare_digest (the real one still answers)."""
    seen: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return seen


def test_api_keys_are_compared_in_constant_time(comparisons: list[tuple[Any, Any]]) -> None:
    user = make_user()
    row, key = api_key_create(user_id=user.pk, scopes=["read"])
    api_key_authenticate(key)
    assert (hashlib.sha256(key.encode()).hexdigest(), row.key_hash) in comparisons


def test_tokens_are_compared_in_constant_time(comparisons: list[tuple[Any, Any]]) -> None:
    user = make_user()
    tokens = session_start(user=user)
    comparisons.clear()
    session_refresh(refresh_token=tokens.refresh)
    # The HS256 signature check (PyJWT) and the refresh-token id check both go through it.
    assert len(comparisons) >= 2
    assert any(isinstance(a, bytes) for a, _ in comparisons)  # the signature
    assert any(isinstance(a, str) and len(a) == 32 for a, _ in comparisons)  # the jti


def test_no_credential_reaches_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.request", "domains", "dsta", "httpx"):
        caplog.set_level(logging.DEBUG, logger=name)
    trader = make_user("trader", password=PASSWORD)
    client = APIClient()
    wrong_password = "Wrong-but-similar-1987"
    client.post(
        "/api/v1/auth/login",
        {"username": trader.username, "password": wrong_password},
        format="json",
    )
    tokens = client.post(
        "/api/v1/auth/login", {"username": trader.username, "password": PASSWORD}, format="json"
    ).json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    created = client.post(
        "/api/v1/auth/api-keys", {"name": "bot", "scopes": ["read"]}, format="json"
    ).json()
    refreshed = (
        APIClient()
        .post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
        .json()
    )
    reused = APIClient().post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert reused.status_code == 401  # logged as a 401 warning by django.request
    keyed = APIClient()
    keyed.credentials(HTTP_AUTHORIZATION=f"Api-Key {created['key']}")
    assert keyed.get("/api/v1/auth/validate").status_code == 200
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}x")
    assert forged.get("/api/v1/auth/validate").status_code == 401

    secrets = {
        "password": PASSWORD,
        "wrong password": wrong_password,
        "access token": tokens["access"],
        "refresh token": tokens["refresh"],
        "rotated access token": refreshed["access"],
        "rotated refresh token": refreshed["refresh"],
        "api key": created["key"],
        # Long enough to be unique: the signature part of a JWT, the secret part of a key.
        "access signature": tokens["access"].rsplit(".", 1)[1],
        "key secret": created["key"].rsplit("_", 1)[1],
    }
    lines = [caplog.text] + [
        str(record.__dict__) for record in caplog.records
    ]  # message, args and extras alike
    assert caplog.records, "the flows above log something (else this test proves nothing)"
    for name, secret in secrets.items():
        assert all(secret not in line for line in lines), f"the {name} appears in a log record"
