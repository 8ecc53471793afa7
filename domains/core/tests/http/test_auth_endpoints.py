"""``/api/v1/auth/``: login, refresh rotation and reuse detection, logout, validate, sessions,
and every way a credential is refused (401 with a reason, never a 500)."""

from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from domains.core.models import AuditEntry, AuthSession
from domains.core.services import auth_settings
from domains.core.tests.people import (
    PASSWORD,
    bearer_client,
    error_of,
    key_client,
    make_user,
    tokens_for,
)

pytestmark = pytest.mark.django_db


def login(client: APIClient, username: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post(
        "/api/v1/auth/login", {"username": username, "password": password, **extra}, format="json"
    )


def with_bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_login_issues_a_token_pair_that_authenticates() -> None:
    trader = make_user("trader", password=PASSWORD)
    response = login(APIClient(), trader.username)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert set(body) >= {"access", "refresh", "access_expires_at", "session_id"}
    principal = with_bearer(body["access"]).get("/api/v1/auth/validate")
    assert principal.status_code == 200
    assert principal.json() == {
        "user_id": trader.pk,
        "username": trader.username,
        "roles": ["trader"],
        "role": "trader",
        "scopes": ["read", "trade"],
        "via": "jwt",
        "credential_id": body["session_id"],
    }
    entry = AuditEntry.objects.filter(user_id=trader.pk, action="auth.login").get()
    assert entry.details == {"method": "password"}
    trader.refresh_from_db()
    assert trader.last_login is not None


def test_login_with_session_also_signs_the_browser_in() -> None:
    viewer = make_user(password=PASSWORD)
    client = APIClient()
    assert login(client, viewer.username, session=True).status_code == 200
    # The cookie alone now authenticates (no Authorization header).
    assert client.get("/api/v1/users/profile").json()["username"] == viewer.username
    # One login, one audit entry (the session login is not audited twice).
    assert AuditEntry.objects.filter(user_id=viewer.pk, action="auth.login").count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"username": "someone"},
        {"password": "x"},
        {"username": 5, "password": "x"},
        {"username": "someone", "password": "x", "session": "yes"},
        {"username": "someone", "password": "x", "remember": True},
        [],
    ],
)
def test_malformed_login_bodies_are_400(body: Any) -> None:
    response = APIClient().post("/api/v1/auth/login", body, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_input"


def test_login_body_that_is_not_json_is_400() -> None:
    response = APIClient().post("/api/v1/auth/login", b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_request"


def test_wrong_password_and_unknown_user_answer_alike() -> None:
    user = make_user(password=PASSWORD)
    wrong = login(APIClient(), user.username, "not-the-password")
    unknown = login(APIClient(), "nobody-by-this-name", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        error = error_of(response)
        assert error["code"] == "invalid_credentials"
        assert error["message"] == "wrong username or password"
    assert AuditEntry.objects.filter(user_id=user.pk, action="auth.login_failed").exists()


def test_an_inactive_user_cannot_log_in() -> None:
    user = make_user(password=PASSWORD)
    user.is_active = False
    user.save()
    response = login(APIClient(), user.username)
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_credentials"


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_session() -> None:
    user = make_user("analyst")
    first = tokens_for(user)
    response = APIClient().post("/api/v1/auth/refresh", {"refresh": first.refresh}, format="json")
    assert response.status_code == 200
    second = response.json()
    assert second["refresh"] != first.refresh
    assert second["session_id"] == str(first.session_id)
    assert with_bearer(second["access"]).get("/api/v1/auth/validate").status_code == 200

    # The first refresh token was used: presenting it again is theft, the family dies.
    reused = APIClient().post("/api/v1/auth/refresh", {"refresh": first.refresh}, format="json")
    assert reused.status_code == 401
    assert error_of(reused)["code"] == "token_revoked"
    session = AuthSession.objects.get(pk=first.session_id)
    assert session.revoked_reason == "refresh_reused"
    # ...including the newest tokens, handed out before the reuse.
    newest = APIClient().post("/api/v1/auth/refresh", {"refresh": second["refresh"]}, format="json")
    assert error_of(newest)["code"] == "token_revoked"
    denied = with_bearer(second["access"]).get("/api/v1/auth/validate")
    assert denied.status_code == 401
    assert error_of(denied)["code"] == "token_revoked"
    assert AuditEntry.objects.filter(user_id=user.pk, action="auth.refresh_reused").exists()


def test_logout_ends_the_session_at_once() -> None:
    user = make_user()
    tokens = tokens_for(user)
    client = with_bearer(tokens.access)
    assert client.post("/api/v1/auth/logout").status_code == 204
    after = client.get("/api/v1/auth/validate")
    assert after.status_code == 401
    assert error_of(after)["code"] == "token_revoked"
    refresh = APIClient().post("/api/v1/auth/refresh", {"refresh": tokens.refresh}, format="json")
    assert error_of(refresh)["code"] == "token_revoked"
    assert AuditEntry.objects.filter(user_id=user.pk, action="auth.logout").count() == 1


def test_sessions_are_listed_and_revocable_by_their_owner_only() -> None:
    owner, other = make_user(), make_user()
    first, second = tokens_for(owner), tokens_for(owner)
    tokens_for(other)
    client = with_bearer(first.access)
    listed = client.get("/api/v1/auth/sessions").json()
    assert {item["id"] for item in listed} == {str(first.session_id), str(second.session_id)}
    assert [item["current"] for item in listed if item["id"] == str(first.session_id)] == [True]

    other_session = AuthSession.objects.filter(user=other).get()
    for foreign in (str(other_session.pk), "not-a-uuid"):
        response = client.delete(f"/api/v1/auth/sessions/{foreign}")
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    assert client.delete(f"/api/v1/auth/sessions/{second.session_id}").status_code == 204
    assert error_of(with_bearer(second.access).get("/api/v1/auth/validate"))["code"] == (
        "token_revoked"
    )
    assert client.get("/api/v1/auth/validate").status_code == 200  # the other session lives


def _forge(claims: dict[str, Any], key: bytes | str) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


def test_expired_forged_and_malformed_tokens_are_401_with_a_reason() -> None:
    user = make_user()
    tokens = tokens_for(user)
    claims = jwt.decode(tokens.access, options={"verify_signature": False})
    past = int((timezone.now() - timedelta(minutes=1)).timestamp())
    key = auth_settings.jwt_signing_key()
    cases = {
        "expired": (_forge({**claims, "exp": past}, key), "token_expired"),
        "forged": (_forge({**claims, "roles": ["admin"]}, b"another-key" * 4), "token_invalid"),
        "refresh as access": (tokens.refresh, "token_invalid"),
        "garbage": ("not.a.jwt", "token_invalid"),
        "alg none": (jwt.encode(claims, "", algorithm="none"), "token_invalid"),
        "unknown session": (
            _forge({**claims, "sid": "00000000-0000-0000-0000-000000000000"}, key),
            "token_invalid",
        ),
    }
    for name, (token, code) in cases.items():
        response = with_bearer(token).get("/api/v1/users/profile")
        assert response.status_code == 401, name
        assert error_of(response)["code"] == code, name
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_bad_refresh_tokens_are_401_and_bad_bodies_400() -> None:
    user = make_user()
    access = tokens_for(user).access
    assert error_of(APIClient().post("/api/v1/auth/refresh", {"refresh": access}, format="json"))[
        "code"
    ] == ("token_invalid")
    assert APIClient().post("/api/v1/auth/refresh", {}, format="json").status_code == 400
    response = APIClient().post("/api/v1/auth/refresh", {"refresh": 12}, format="json")
    assert response.status_code == 400


def test_an_empty_or_unknown_authorization_scheme_is_refused_or_ignored() -> None:
    empty = APIClient()
    empty.credentials(HTTP_AUTHORIZATION="Bearer ")
    assert error_of(empty.get("/api/v1/auth/validate"))["code"] == "token_invalid"
    basic = APIClient()
    basic.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    response = basic.get("/api/v1/auth/validate")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


def test_a_deactivated_user_s_tokens_stop_working() -> None:
    user = make_user()
    client = bearer_client(user)
    user.is_active = False
    user.save()
    response = client.get("/api/v1/auth/validate")
    assert response.status_code == 401
    assert error_of(response)["code"] == "account_inactive"


def test_logout_with_an_api_key_is_a_400() -> None:
    response = key_client(make_user()).post("/api/v1/auth/logout")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_input"
