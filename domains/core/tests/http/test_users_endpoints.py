"""``/api/v1/users/``: invites and registration, profile, preferences, the audit log."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from domains.core.models import AuditEntry, UserInvite
from domains.core.services.audit import audit_record
from domains.core.tests.people import PASSWORD, bearer_client, error_of, make_user

pytestmark = pytest.mark.django_db


def invite(admin_client: APIClient, role: str = "analyst", **extra: Any) -> Any:
    return admin_client.post("/api/v1/users/invites", {"role": role, **extra}, format="json")


def register(token: str, username: str, password: str = PASSWORD) -> Any:
    body = {"token": token, "username": username, "password": password}
    return APIClient().post("/api/v1/users/register", body, format="json")


def test_an_invite_registers_one_user_with_its_role() -> None:
    admin = bearer_client(make_user("admin"))
    created = invite(admin, "analyst", email="new@example.com")
    assert created.status_code == 201, created.content
    token = created.json()["token"]
    assert not UserInvite.objects.filter(token_hash=token).exists()  # only a hash is kept

    response = register(token, "newcomer")
    assert response.status_code == 201, response.content
    profile = response.json()
    assert (profile["username"], profile["roles"], profile["email"]) == (
        "newcomer",
        ["analyst"],
        "new@example.com",
    )
    user = get_user_model().objects.get(username="newcomer")
    assert user.password.startswith("argon2$argon2id$")
    assert AuditEntry.objects.filter(action="user.registered", user_id=user.pk).exists()

    again = register(token, "second-comer")
    assert again.status_code == 400
    assert error_of(again)["code"] == "invite_invalid"


def test_only_admins_invite() -> None:
    response = invite(bearer_client(make_user("trader")))
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert invite(APIClient()).status_code == 401


def test_registration_refuses_bad_tokens_passwords_and_taken_names() -> None:
    admin = bearer_client(make_user("admin"))
    token = invite(admin).json()["token"]
    assert error_of(register("nope", "someone"))["code"] == "invite_invalid"
    weak = register(token, "someone", "12345678")
    assert weak.status_code == 400
    assert error_of(weak)["code"] == "password_rejected"
    assert error_of(weak)["details"]["problems"]
    taken = make_user()
    clash = register(token, taken.username.upper())
    assert clash.status_code == 409
    assert error_of(clash)["code"] == "username_taken"
    # Failed attempts did not spend the invite.
    assert register(token, "someone").status_code == 201


def test_an_expired_invite_is_refused() -> None:
    admin = bearer_client(make_user("admin"))
    token = invite(admin).json()["token"]
    UserInvite.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert error_of(register(token, "late"))["code"] == "invite_invalid"


@pytest.mark.parametrize(
    "body",
    [{}, {"token": "t", "username": "u"}, {"token": 1, "username": "u", "password": "p"}],
)
def test_malformed_registrations_are_400(body: dict[str, Any]) -> None:
    response = APIClient().post("/api/v1/users/register", body, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_input"


def test_profile_shows_the_caller() -> None:
    trader = make_user("trader")
    profile = bearer_client(trader).get("/api/v1/users/profile").json()
    assert profile["user_id"] == trader.pk
    assert (profile["role"], profile["roles"]) == ("trader", ["trader"])
    assert profile["preferences"] == {
        "timezone": "UTC",
        "default_venue": None,
        "notification_channels": ["in_app"],
        "quiet_hours": None,
    }


def test_preferences_are_validated_and_replaced() -> None:
    user = make_user()
    client = bearer_client(user)
    document = {
        "timezone": "Europe/Berlin",
        "default_venue": "binance",
        "notification_channels": ["telegram", "email"],
        "quiet_hours": {"start": "22:00", "end": "07:00"},
    }
    response = client.put("/api/v1/users/preferences", document, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == document
    assert client.get("/api/v1/users/preferences").json() == document
    # PUT replaces: fields left out go back to their defaults.
    client.put("/api/v1/users/preferences", {"timezone": "Asia/Tokyo"}, format="json")
    assert client.get("/api/v1/users/profile").json()["preferences"]["default_venue"] is None
    assert (
        AuditEntry.objects.filter(action="user.preferences_changed", user_id=user.pk).count() == 2
    )


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"timezone": "Mars/Olympus"}, "$.timezone"),
        ({"theme": "dark"}, "$.theme"),
        ({"notification_channels": ["pigeon"]}, "$.notification_channels.0"),
        ({"notification_channels": ["email", "email"]}, "$.notification_channels"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "$.quiet_hours.start"),
        ({"default_venue": "Binance!"}, "$.default_venue"),
        ({"timezone": 3}, "$.timezone"),
        ([1, 2], "$"),
    ],
)
def test_invalid_preferences_are_400_with_the_path(document: Any, path: str) -> None:
    response = bearer_client(make_user()).put("/api/v1/users/preferences", document, format="json")
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "preferences_invalid"
    assert path in [problem["path"] for problem in error["details"]["problems"]]


def test_the_audit_log_shows_own_entries_and_admins_all_with_filters_and_pages() -> None:
    alice, bob, admin = make_user(), make_user(), make_user("admin")
    for number in range(5):
        audit_record(action="order.placed", user_id=alice.pk, target=f"order:{number}")
    audit_record(action="order.cancelled", user_id=alice.pk, target="order:0")
    audit_record(action="order.placed", user_id=bob.pk, target="order:99")

    mine = bearer_client(alice).get("/api/v1/users/audit-log", {"limit": 4}).json()
    assert [entry["user_id"] for entry in mine["results"]] == [alice.pk] * 4
    assert mine["results"][0]["action"] == "order.cancelled"  # newest first
    rest = bearer_client(alice).get(
        "/api/v1/users/audit-log", {"limit": 4, "before_id": mine["next_before_id"]}
    )
    assert len(rest.json()["results"]) >= 2
    assert all(e["user_id"] == alice.pk for e in rest.json()["results"])

    placed = bearer_client(alice).get("/api/v1/users/audit-log", {"action": "order.placed"})
    assert {e["target"] for e in placed.json()["results"]} == {f"order:{n}" for n in range(5)}

    refused = bearer_client(alice).get("/api/v1/users/audit-log", {"user_id": bob.pk})
    assert refused.status_code == 403
    everyone = bearer_client(admin).get("/api/v1/users/audit-log", {"action": "order.placed"})
    users = {entry["user_id"] for entry in everyone.json()["results"]}
    assert {alice.pk, bob.pk} <= users
    just_bob = bearer_client(admin).get("/api/v1/users/audit-log", {"user_id": bob.pk})
    assert {e["user_id"] for e in just_bob.json()["results"]} == {bob.pk}

    future = (timezone.now() + timedelta(hours=1)).isoformat()
    later = bearer_client(alice).get("/api/v1/users/audit-log", {"since": future}).json()
    assert later == {"results": [], "next_before_id": None}


@pytest.mark.parametrize(
    "query",
    [{"limit": 0}, {"limit": 501}, {"since": "soon"}, {"before_id": -1}, {"limit": "many"}],
)
def test_bad_audit_queries_are_400(query: dict[str, Any]) -> None:
    response = bearer_client(make_user()).get("/api/v1/users/audit-log", query)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_input"
