"""API keys: shown once, stored hashed, scoped, expiring, revocable, usable on every endpoint."""

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from domains.core.models import ApiKey, AuditEntry
from domains.core.tests.people import api_key_for, bearer_client, error_of, key_client, make_user

pytestmark = pytest.mark.django_db


def with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def create(client: APIClient, **body: Any) -> Any:
    return client.post("/api/v1/auth/api-keys", body, format="json")


def test_a_key_is_shown_once_stored_as_a_hash_and_authenticates() -> None:
    trader = make_user("trader")
    client = bearer_client(trader)
    response = create(client, name="bot", scopes=["read", "trade"], expires_in_days=30)
    assert response.status_code == 201, response.content
    body = response.json()
    key = body["key"]
    assert key.startswith(f"dsta_{body['prefix']}_")
    row = ApiKey.objects.get(pk=body["id"])
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(ApiKey.objects.filter(pk=row.pk).values().get())
    assert body["state"] == "active"
    assert row.expires_at is not None
    assert timedelta(days=29) < row.expires_at - timezone.now() <= timedelta(days=30)

    listed = client.get("/api/v1/auth/api-keys").json()
    assert [item["id"] for item in listed] == [body["id"]]
    assert "key" not in listed[0]
    assert "key_hash" not in listed[0]

    principal = with_key(key).get("/api/v1/auth/validate").json()
    assert principal["via"] == "api_key"
    assert principal["credential_id"] == body["id"]
    assert principal["scopes"] == ["read", "trade"]
    assert principal["role"] == "trader"
    entry = AuditEntry.objects.get(action="api_key.created", target=f"api_key:{body['id']}")
    assert key not in str(entry.details)


def test_last_used_is_written_at_most_once_per_interval() -> None:
    user = make_user()
    key = api_key_for(user)
    row = ApiKey.objects.get(user=user)
    assert row.last_used_at is None
    with_key(key).get("/api/v1/auth/validate")
    row.refresh_from_db()
    first_use = row.last_used_at
    assert first_use is not None
    with_key(key).get("/api/v1/auth/validate")
    row.refresh_from_db()
    assert row.last_used_at == first_use  # inside the interval: no write
    with override_settings(DSTA_API_KEY_LAST_USED_INTERVAL_SECONDS=0):
        with_key(key).get("/api/v1/auth/validate")
    row.refresh_from_db()
    assert row.last_used_at > first_use


def test_a_revoked_key_is_refused_and_revoking_is_owner_only() -> None:
    owner, other = make_user(), make_user()
    key = api_key_for(owner)
    row = ApiKey.objects.get(user=owner)
    foreign = bearer_client(other).delete(f"/api/v1/auth/api-keys/{row.pk}")
    assert foreign.status_code == 404
    assert bearer_client(other).delete("/api/v1/auth/api-keys/malformed").status_code == 404
    response = bearer_client(owner).delete(f"/api/v1/auth/api-keys/{row.pk}")
    assert response.status_code == 200
    assert response.json()["state"] == "revoked"
    refused = with_key(key).get("/api/v1/auth/validate")
    assert refused.status_code == 401
    assert error_of(refused)["code"] == "api_key_revoked"
    assert AuditEntry.objects.filter(action="api_key.revoked", user_id=owner.pk).count() == 1


def test_expired_unknown_and_malformed_keys_are_refused() -> None:
    user = make_user()
    key = api_key_for(user, expires_at=timezone.now() + timedelta(seconds=30))
    ApiKey.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert error_of(with_key(key).get("/api/v1/auth/validate"))["code"] == "api_key_expired"
    # Right shape, right prefix, wrong secret: same answer as a key that never existed.
    tampered = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert error_of(with_key(tampered).get("/api/v1/auth/validate"))["code"] == "api_key_invalid"
    unknown = "dsta_0123456789ab_" + "x" * 43
    assert error_of(with_key(unknown).get("/api/v1/auth/validate"))["code"] == "api_key_invalid"
    assert error_of(with_key("short").get("/api/v1/auth/validate"))["code"] == "api_key_invalid"


def test_scopes_cannot_exceed_the_role_or_the_creating_credential() -> None:
    viewer = make_user("viewer")
    beyond_role = create(bearer_client(viewer), scopes=["trade"])
    assert beyond_role.status_code == 403
    assert error_of(beyond_role)["code"] == "scope_not_allowed"
    admin = make_user("admin")
    read_key_client = key_client(admin, ("read",))
    beyond_key = create(read_key_client, scopes=["admin"])
    assert error_of(beyond_key)["code"] == "scope_not_allowed"
    assert create(read_key_client, scopes=["read"]).status_code == 201


def test_a_key_s_scopes_cap_the_role_it_acts_with() -> None:
    admin = make_user("admin")
    read_only = key_client(admin, ("read",)).get("/api/v1/auth/validate").json()
    assert (read_only["roles"], read_only["role"]) == (["admin"], "analyst")
    key = api_key_for(admin, ("read",))
    refused = with_key(key).put(
        "/api/v1/config/trading.kill_switch", {"value": True}, format="json"
    )
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "forbidden"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"scopes": []},
        {"scopes": ["root"]},
        {"scopes": "read"},
        {"scopes": ["read"], "expires_at": "yesterday"},
        {"scopes": ["read"], "expires_in_days": 0},
        {"scopes": ["read"], "expires_in_days": 5, "expires_at": "2099-01-01T00:00:00Z"},
        {"scopes": ["read"], "name": "x" * 101},
        {"scopes": ["read"], "owner": 1},
    ],
)
def test_malformed_key_requests_are_400(body: dict[str, Any]) -> None:
    response = create(bearer_client(make_user()), **body)
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == "invalid_input"


def test_an_expiry_in_the_past_is_400() -> None:
    response = create(
        bearer_client(make_user()), scopes=["read"], expires_at="2001-01-01T00:00:00Z"
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_input"
