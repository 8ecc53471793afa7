"""``/api/v1/config/secrets/``: write-only over HTTP, owner-scoped, 4xx for bad input."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from domains.core.models import Secret
from domains.core.services.secrets import secret_read
from domains.core.tests.secrets.conftest import (
    API_KEY,
    API_SECRET,
    PASSPHRASE,
    audit_actions,
    credentials,
)

pytestmark = pytest.mark.django_db
BASE = "/api/v1/config/secrets/"


def client_for(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])


def no_plaintext(response: Any) -> None:
    text = response.content.decode()
    for plaintext in (API_KEY, API_SECRET, PASSPHRASE, "generic-plain"):
        assert plaintext not in text


def test_create_replace_read_metadata_delete(make_user: Callable[..., Any]) -> None:
    trader = make_user("trader")
    client = client_for(trader)
    key = "exchange/binance/main"
    created = client.put(
        BASE + key, {"kind": "exchange_credentials", "value": credentials()}, format="json"
    )
    assert created.status_code == 201, created.content
    no_plaintext(created)
    info = created.json()
    assert info["key"] == key
    assert info["owner_id"] == trader.pk
    assert info["kind"] == "exchange_credentials"
    assert info["fields"] == ["api_key", "passphrase", "secret"]
    assert info["version"] == 1
    assert info["last_read_at"] is None
    assert "value" not in info

    replaced = client.put(
        BASE + key,
        {
            "kind": "exchange_credentials",
            "value": {"api_key": "k2", "secret": "s2"},
            "expected_version": 1,
        },
        format="json",
    )
    assert replaced.status_code == 200
    assert (replaced.json()["version"], replaced.json()["fields"]) == (2, ["api_key", "secret"])
    assert secret_read(owner_id=trader.pk, key=key, reader="test").fields == {
        "api_key": "k2",
        "secret": "s2",
    }

    got = client.get(BASE + key)
    assert got.status_code == 200
    no_plaintext(got)
    assert set(got.json()) == {
        "owner_id",
        "key",
        "kind",
        "fields",
        "version",
        "created_at",
        "updated_at",
        "last_read_at",
    }
    assert got.json()["last_read_at"] is not None  # the read above was stamped
    listing = client.get(BASE)
    assert [item["key"] for item in listing.json()] == [key]

    assert client.delete(BASE + key).status_code == 204
    assert client.get(BASE + key).status_code == 404
    assert error_of(client.delete(BASE + key))["code"] == "secret_not_found"
    assert [action for action, _, _ in audit_actions(trader.pk)] == [
        "secret.created",
        "secret.replaced",
        "secret.read",
        "secret.deleted",
    ]


def test_another_users_secret_is_invisible(make_user: Callable[..., Any]) -> None:
    alice, bob = make_user("trader"), make_user("trader")
    client_for(alice).put(BASE + "k", {"kind": "generic", "value": "generic-plain"}, format="json")
    bob_client = client_for(bob)
    assert bob_client.get(BASE).json() == []
    assert bob_client.get(BASE + "k").status_code == 404
    assert bob_client.delete(BASE + "k").status_code == 404
    # Naming alice explicitly is the same 404 for a non-admin.
    assert bob_client.get(BASE + f"k?user_id={alice.pk}").status_code == 404
    # bob's own "k" is a different secret.
    assert (
        bob_client.put(BASE + "k", {"kind": "generic", "value": "b"}, format="json").status_code
        == 201
    )
    assert secret_read(owner_id=alice.pk, key="k", reader="t").value == "generic-plain"


def test_admins_may_act_for_a_user(make_user: Callable[..., Any]) -> None:
    owner, admin = make_user("trader"), make_user("admin")
    created = client_for(admin).put(
        BASE + f"ops/token?user_id={owner.pk}",
        {"kind": "generic", "value": "generic-plain"},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["owner_id"] == owner.pk
    listing = client_for(admin).get(BASE + f"?user_id={owner.pk}")
    assert [item["key"] for item in listing.json()] == ["ops/token"]
    no_plaintext(listing)


def test_roles(make_user: Callable[..., Any]) -> None:
    viewer = make_user("viewer")
    client = client_for(viewer)
    assert client.get(BASE).status_code == 200  # metadata of one's own: any role
    refused = client.put(BASE + "k", {"kind": "generic", "value": "v"}, format="json")
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "forbidden"
    assert client.delete(BASE + "k").status_code == 403
    for method in ("get", "put", "delete"):
        anonymous = getattr(client_for(), method)(BASE + "k")
        assert anonymous.status_code in (401, 403)
        assert error_of(anonymous)["code"] == "unauthenticated"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "generic"}, "invalid_input"),  # no value
        ({"kind": "password", "value": "x"}, "invalid_input"),
        ({"kind": "generic", "value": "x", "surprise": 1}, "invalid_input"),
        ({"kind": "generic", "value": 42}, "secret_invalid"),
        ({"kind": "generic", "value": ""}, "secret_invalid"),
        ({"kind": "generic", "value": "x" * 20_000}, "secret_invalid"),
        ({"kind": "exchange_credentials", "value": "not-an-object"}, "secret_invalid"),
        ({"kind": "exchange_credentials", "value": {"api_key": "k"}}, "secret_invalid"),
        (
            {"kind": "exchange_credentials", "value": {"api_key": "k", "secret": "s", "x": 1}},
            "secret_invalid",
        ),
        ({"kind": "generic", "value": "x", "expected_version": "1"}, "invalid_input"),
        ({"kind": "generic", "value": "x", "expected_version": -1}, "invalid_input"),
        ([1, 2], "invalid_input"),
    ],
)
def test_bad_bodies_are_400_with_a_reason(
    make_user: Callable[..., Any], body: Any, code: str
) -> None:
    response = client_for(make_user()).put(BASE + "k", body, format="json")
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == code
    assert error["message"]
    assert not Secret.objects.exists()


def test_malformed_json_bad_keys_and_conflicts(make_user: Callable[..., Any]) -> None:
    client = client_for(make_user())
    broken = client.generic(
        "PUT", BASE + "k", '{"kind": "generic", "value": ', content_type="application/json"
    )
    assert broken.status_code == 400
    assert error_of(broken)["code"] == "malformed_request"
    for bad_key in ("UPPER", "trailing/", "a//b", "spa ce", "x" * 200, "-lead"):
        response = client.put(BASE + bad_key, {"kind": "generic", "value": "v"}, format="json")
        assert response.status_code == 400, bad_key
        assert error_of(response)["code"] == "secret_invalid"
    assert (
        client.put(
            BASE + "k", {"kind": "generic", "value": "v", "expected_version": 0}, format="json"
        ).status_code
        == 201
    )
    stale = client.put(
        BASE + "k", {"kind": "generic", "value": "v", "expected_version": 0}, format="json"
    )
    assert stale.status_code == 409
    assert error_of(stale)["details"]["current_version"] == 1


def test_a_validation_error_never_echoes_the_value(make_user: Callable[..., Any]) -> None:
    response = client_for(make_user()).put(
        BASE + "k",
        {"kind": "exchange_credentials", "value": {"api_key": API_KEY}},
        format="json",
    )
    assert response.status_code == 400
    assert API_KEY not in json.dumps(response.json())
