"""``/api/v1/notifications/``: send, history, templates, preferences; 4xx for bad input."""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from domains.core.models import Notification

pytestmark = pytest.mark.django_db
BASE = "/api/v1/notifications/"


def client_for(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"]
    return dict(body["error"])


def test_send_then_read_the_history(make_user: Callable[..., Any]) -> None:
    user = make_user()
    client = client_for(user)
    sent = client.post(
        BASE + "send",
        {
            "subject": "Hi",
            "body": "there",
            "priority": "high",
            "channels": ["in_app"],
            "data": {"k": 1},
        },
        format="json",
    )
    assert sent.status_code == 202, sent.content
    body = sent.json()
    assert body["deduplicated"] is False
    assert (body["user_id"], body["subject"], body["priority"]) == (user.pk, "Hi", "high")
    assert [(d["channel"], d["status"]) for d in body["deliveries"]] == [("in_app", "pending")]
    history = client.get(BASE + "history").json()
    assert [item["id"] for item in history["results"]] == [body["id"]]
    assert (history["limit"], history["offset"]) == (50, 0)
    assert client.get(BASE + "history?priority=low").json()["results"] == []


def test_a_duplicate_answers_200_with_the_original(make_user: Callable[..., Any]) -> None:
    client = client_for(make_user())
    request = {"body": "limit breached", "dedupe_key": "risk:1", "channels": []}
    first = client.post(BASE + "send", request, format="json")
    again = client.post(BASE + "send", request, format="json")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["deduplicated"] is True
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["duplicates"] == 1


def test_templates_over_http(make_user: Callable[..., Any]) -> None:
    analyst = make_user("analyst")
    client = client_for(analyst)
    created = client.post(
        BASE + "templates",
        {"name": "fill", "subject": "{{ side }} {{ symbol }}", "body": "at {{ price }}"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["variables"] == ["price", "side", "symbol"]
    assert created.json()["shared"] is False
    assert client.get(BASE + "templates/fill").json()["name"] == "fill"
    assert [t["name"] for t in client.get(BASE + "templates").json()] == ["fill"]
    sent = client.post(
        BASE + "send",
        {
            "template": "fill",
            "channels": [],
            "variables": {"side": "BUY", "symbol": "BTC/USDT", "price": "64000"},
        },
        format="json",
    )
    assert sent.status_code == 202
    assert (sent.json()["subject"], sent.json()["body"]) == ("BUY BTC/USDT", "at 64000")
    replaced = client.put(BASE + "templates/fill", {"body": "{{ x }}"}, format="json")
    assert replaced.json()["variables"] == ["x"]
    assert client.delete(BASE + "templates/fill").status_code == 204
    assert error_of(client.get(BASE + "templates/fill"))["code"] == (
        "notification_template_not_found"
    )
    conflict = client.post(BASE + "templates", {"name": "a", "body": "b"}, format="json")
    assert conflict.status_code == 201
    again = client.post(BASE + "templates", {"name": "a", "body": "b"}, format="json")
    assert (again.status_code, error_of(again)["code"]) == (409, "notification_template_exists")


def test_shared_templates_are_for_admins(make_user: Callable[..., Any]) -> None:
    analyst, admin, viewer = make_user("analyst"), make_user("admin"), make_user("viewer")
    refused = client_for(analyst).post(
        BASE + "templates", {"name": "s", "body": "b", "shared": True}, format="json"
    )
    assert refused.status_code == 403
    created = client_for(admin).post(
        BASE + "templates", {"name": "s", "body": "{{ v }}", "shared": True}, format="json"
    )
    assert created.json()["shared"] is True
    assert client_for(viewer).get(BASE + "templates/s").status_code == 200
    assert (
        client_for(viewer)
        .post(BASE + "templates", {"name": "n", "body": "b"}, format="json")
        .status_code
        == 403
    )  # viewers only read
    assert client_for(analyst).delete(BASE + "templates/s?shared=true").status_code == 403
    assert client_for(admin).delete(BASE + "templates/s?shared=true").status_code == 204


def test_preferences_round_trip(make_user: Callable[..., Any]) -> None:
    client = client_for(make_user())
    document = {
        "channels_by_priority": {"critical": ["in_app", "telegram"]},
        "telegram_chat_id": "-100200",
        "webhook_url": "https://hooks.example.test/x",
        "quiet_hours_mode": "in_app_only",
    }
    saved = client.put(BASE + "preferences", document, format="json")
    assert saved.status_code == 200, saved.content
    read = client.get(BASE + "preferences").json()
    for name, value in document.items():
        assert read[name] == value
    assert read["effective_channels"]["critical"] == ["in_app", "telegram"]
    assert read["effective_channels"]["normal"] == ["in_app"]  # the user preferences' default


def test_other_users_are_invisible_and_admins_may_act_for_them(
    make_user: Callable[..., Any],
) -> None:
    alice, bob, admin = make_user(), make_user(), make_user("admin")
    client_for(alice).post(BASE + "send", {"body": "mine", "channels": []}, format="json")
    assert client_for(bob).get(BASE + "history").json()["results"] == []
    assert client_for(bob).get(BASE + f"history?user_id={alice.pk}").status_code == 404
    refused = client_for(bob).post(BASE + "send", {"user_id": alice.pk, "body": "x"}, format="json")
    assert refused.status_code == 404
    assert client_for(admin).get(BASE + f"history?user_id={alice.pk}").json()["results"]
    sent = client_for(admin).post(
        BASE + "send", {"user_id": bob.pk, "body": "for bob", "channels": []}, format="json"
    )
    assert sent.json()["user_id"] == bob.pk
    unknown = client_for(admin).post(BASE + "send", {"user_id": 10**9, "body": "x"}, format="json")
    assert unknown.status_code == 404


def test_anonymous_requests_are_refused() -> None:
    client = client_for()
    for method, path in [
        ("post", "send"),
        ("get", "history"),
        ("get", "templates"),
        ("post", "templates"),
        ("get", "templates/x"),
        ("get", "preferences"),
        ("put", "preferences"),
    ]:
        response = getattr(client, method)(BASE + path, {}, format="json")
        assert response.status_code in (401, 403), path
        assert error_of(response)["code"] == "unauthenticated"


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("send", {}, "notification_invalid"),  # neither body nor template
        ("send", {"body": "x", "channels": ["sms"]}, "notification_channel_unknown"),
        ("send", {"body": "x", "channels": ["email", "email"]}, "notification_invalid"),
        ("send", {"body": "x", "channels": "email"}, "invalid_input"),
        ("send", {"body": "x", "priority": "urgent"}, "invalid_input"),
        ("send", {"body": "x", "colour": "red"}, "invalid_input"),
        ("send", {"body": 5}, "invalid_input"),
        ("send", {"body": "x", "data": [1]}, "invalid_input"),
        ("send", {"body": "x", "dedupe_window_seconds": 0}, "invalid_input"),
        ("send", {"body": "x", "variables": {"a": 1}}, "notification_invalid"),
        ("send", {"template": "nope"}, "notification_invalid"),
        ("send", {"template": "t", "body": "x"}, "notification_invalid"),
        ("send", {"template": "t", "variables": {}}, "notification_template_variables_invalid"),
        (
            "send",
            {"template": "t", "variables": {"who": 1, "extra": 2}},
            "notification_template_variables_invalid",
        ),
        ("templates", {"name": "Bad Name", "body": "x"}, "notification_template_invalid"),
        ("templates", {"name": "x", "body": "{% load static %}"}, "notification_template_invalid"),
        ("templates", {"name": "x", "body": "{% if %}"}, "notification_template_invalid"),
        (
            "templates",
            {"name": "x", "body": "{{ a|center:'99999' }}"},
            "notification_template_invalid",
        ),
        ("templates", {"name": "x"}, "invalid_input"),
        ("templates", {"name": "x", "body": "b", "shared": "yes"}, "invalid_input"),
        ("preferences", {"telegram_chat_id": "not a chat"}, "notification_invalid"),
        ("preferences", {"webhook_url": "ftp://x"}, "notification_invalid"),
        ("preferences", {"email": "nobody"}, "notification_invalid"),
        ("preferences", {"channels_by_priority": {"urgent": ["email"]}}, "notification_invalid"),
        ("preferences", {"channels_by_priority": {"low": ["sms"]}}, "notification_invalid"),
        ("preferences", {"quiet_hours_mode": "mute"}, "invalid_input"),
        ("preferences", {"sound": "ding"}, "invalid_input"),
    ],
)
def test_bad_input_is_400_with_a_reason(
    make_user: Callable[..., Any], path: str, body: dict[str, Any], code: str
) -> None:
    user = make_user("analyst")
    client = client_for(user)
    client.post(BASE + "templates", {"name": "t", "body": "hi {{ who }}"}, format="json")
    method = client.put if path == "preferences" else client.post
    response = method(BASE + path, body, format="json")
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == code
    assert not Notification.objects.exists()


def test_malformed_json_and_bad_queries(make_user: Callable[..., Any]) -> None:
    client = client_for(make_user())
    broken = client.generic("POST", BASE + "send", "{", content_type="application/json")
    assert (broken.status_code, error_of(broken)["code"]) == (400, "malformed_request")
    not_object = client.post(BASE + "send", [1, 2], format="json")
    assert not_object.status_code == 400
    for query in ("limit=0", "limit=x", "offset=-1", "status=lost", "user_id=abc"):
        response = client.get(BASE + f"history?{query}")
        assert response.status_code == 400, query
