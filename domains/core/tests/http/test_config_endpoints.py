"""``/api/v1/config/``: reads for signed-in users, writes for staff, 4xx for bad input."""

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from domains.core.tests.conftest import KeyFactory

pytestmark = pytest.mark.django_db
LIMITS = {
    "type": "object",
    "properties": {"max_usd": {"type": "number", "exclusiveMinimum": 0}},
    "required": ["max_usd"],
    "additionalProperties": False,
}


def url(key: str = "", suffix: str = "") -> str:
    return f"/api/v1/config/{key}{suffix}"


def client_for(person: Any = None) -> APIClient:
    client = APIClient()
    if person is not None:
        client.force_authenticate(person)
    return client


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}
    return dict(body["error"])


def put(client: APIClient, key: str, body: dict[str, Any]) -> Any:
    return client.put(url(key), body, format="json")


# --- reads -----------------------------------------------------------------------------------


def test_reads_need_a_login(make_key: KeyFactory) -> None:
    key = make_key()
    for path in (url(), url(key), url(key, "/history")):
        response = client_for().get(path)
        assert response.status_code in (401, 403)
        assert error_of(response)["code"] == "unauthenticated"


def test_list_shows_every_key_with_its_effective_value(make_key: KeyFactory, user: Any) -> None:
    key = make_key(default=4)
    response = client_for(user).get(url(), {"environment": "paper"})
    assert response.status_code == 200
    by_key = {item["key"]: item for item in response.json()}
    assert by_key["trading.kill_switch"]["is_feature_flag"] is True
    item = by_key[key]
    assert item["schema"] == {"type": "integer", "minimum": 0}
    assert item["current"] == {
        "key": key,
        "environment": "paper",
        "value": 4,
        "version": 0,
        "updated_at": None,
        "source": "key_default",
    }


def test_get_falls_back_to_the_default_environment(
    make_key: KeyFactory, user: Any, staff: Any
) -> None:
    key = make_key()
    assert put(client_for(staff), key, {"value": 9}).status_code == 200
    body = client_for(user).get(url(key), {"environment": "live"}).json()
    assert (body["value"], body["version"], body["source"]) == (9, 1, "default")
    assert body["updated_at"] is not None


def test_unknown_keys_are_404(user: Any, staff: Any) -> None:
    for response in (
        client_for(user).get(url("nope.nothing")),
        client_for(user).get(url("nope.nothing", "/history")),
        put(client_for(staff), "nope.nothing", {"value": 1}),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "config_key_unknown"


@pytest.mark.parametrize(
    ("suffix", "query"),
    [
        ("", {"environment": "Not Valid"}),
        ("/history", {"limit": "0"}),
        ("/history", {"limit": "many"}),
        ("/history", {"environment": "x" * 40}),
    ],
)
def test_bad_query_parameters_are_400(
    make_key: KeyFactory, user: Any, suffix: str, query: dict[str, str]
) -> None:
    response = client_for(user).get(url(make_key(), suffix), query)
    assert response.status_code == 400
    assert error_of(response)["code"] in {"invalid_input", "config_environment_invalid"}


def test_history_lists_writes_newest_first(make_key: KeyFactory, user: Any, staff: Any) -> None:
    key = make_key()
    for value in (1, 2, 3):
        put(client_for(staff), key, {"value": value, "environment": "paper", "reason": f"r{value}"})
    body = client_for(user).get(url(key, "/history"), {"environment": "paper", "limit": "2"}).json()
    assert [(v["version"], v["value"], v["reason"]) for v in body] == [(3, 3, "r3"), (2, 2, "r2")]
    assert {v["changed_by"] for v in body} == {staff.pk}


# --- writes ----------------------------------------------------------------------------------


def test_writes_need_staff(make_key: KeyFactory, user: Any) -> None:
    key = make_key()
    response = put(client_for(user), key, {"value": 1})
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert put(client_for(), key, {"value": 1}).status_code in (401, 403)


def test_staff_write_returns_the_new_entry(make_key: KeyFactory, staff: Any) -> None:
    key = make_key(schema=LIMITS, default={"max_usd": 1})
    response = put(
        client_for(staff),
        key,
        {
            "value": {"max_usd": 2.5},
            "environment": "live",
            "reason": "raise",
            "expected_version": 0,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["key"], body["environment"], body["version"]) == (key, "live", 1)
    assert (body["value"], body["source"]) == ({"max_usd": 2.5}, "environment")


def test_invalid_values_are_400_with_the_schema_path(make_key: KeyFactory, staff: Any) -> None:
    key = make_key(schema=LIMITS, default={"max_usd": 1})
    response = put(client_for(staff), key, {"value": {"max_usd": "lots"}})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "config_value_invalid"
    [problem] = error["details"]["problems"]
    assert problem["path"] == "$.max_usd"
    assert "'lots' is not of type 'number'" in problem["message"]


def test_a_stale_expected_version_is_409(make_key: KeyFactory, staff: Any) -> None:
    key = make_key()
    client = client_for(staff)
    assert put(client, key, {"value": 1, "expected_version": 0}).status_code == 200
    assert put(client, key, {"value": 2, "expected_version": 1}).status_code == 200
    response = put(client, key, {"value": 3, "expected_version": 1})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "config_version_conflict"
    assert error["details"]["current_version"] == 2


def test_malformed_json_is_400(make_key: KeyFactory, staff: Any) -> None:
    response = client_for(staff).generic(
        "PUT", url(make_key()), '{"value": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_request"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"environment": "paper"}, "value"),
        ({"value": 1, "expected_version": "1"}, "expected_version"),
        ({"value": 1, "expected_version": True}, "expected_version"),
        ({"value": 1, "expected_version": 1.5}, "expected_version"),
        ({"value": 1, "expected_version": -1}, "expected_version"),
        ({"value": 1, "environment": 5}, "environment"),
        ({"value": 1, "reason": ["why"]}, "reason"),
        ({"value": 1, "reason": "x" * 501}, "reason"),
        ({"value": 1, "expected_verison": 3}, "expected_verison"),
    ],
)
def test_wrong_types_and_unknown_fields_are_400(
    make_key: KeyFactory, staff: Any, body: dict[str, Any], field: str
) -> None:
    response = put(client_for(staff), make_key(), body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_input"
    assert field in error["details"]


def test_a_body_that_is_not_an_object_is_400(make_key: KeyFactory, staff: Any) -> None:
    response = client_for(staff).put(url(make_key()), [1, 2], format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_input"


def test_an_invalid_environment_in_the_body_is_400(make_key: KeyFactory, staff: Any) -> None:
    response = put(client_for(staff), make_key(), {"value": 1, "environment": "Prod Env"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "config_environment_invalid"


def test_oversize_bodies_are_413(make_key: KeyFactory, staff: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"value": 1, "reason": "x" * 2000})
    response = client_for(staff).generic(
        "PUT", url(make_key()), body, content_type="application/json"
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_oversize_values_are_413(make_key: KeyFactory, staff: Any, settings: Any) -> None:
    settings.DSTA_CONFIG_MAX_VALUE_BYTES = 100
    key = make_key(schema={"type": "string"}, default="")
    response = put(client_for(staff), key, {"value": "x" * 200})
    assert response.status_code == 413
    assert error_of(response)["code"] == "config_value_too_large"
