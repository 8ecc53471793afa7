"""Admin: keys are shown with their schema; a new version goes through the service."""

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from domains.core.events import ConfigChanged
from domains.core.models import ConfigKey, ConfigValue
from domains.core.services.values import config_value_set
from domains.core.tests.conftest import KeyFactory

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/core/configvalue/add/"


@pytest.fixture
def admin_browser(django_user_model: Any) -> tuple[Client, Any]:
    admin = django_user_model.objects.create_superuser(username="root-admin", email="")
    browser = Client()
    browser.force_login(admin)
    return browser, admin


def test_the_key_page_shows_the_schema(
    make_key: KeyFactory, admin_browser: tuple[Client, Any]
) -> None:
    browser, _ = admin_browser
    key = make_key(schema={"type": "integer", "maximum": 77}, default=1)
    config_key = ConfigKey.objects.get(key=key)
    page = browser.get(f"/admin/core/configkey/{config_key.pk}/change/")
    assert page.status_code == 200
    assert "&quot;maximum&quot;: 77" in page.content.decode()
    assert browser.get("/admin/core/configkey/").status_code == 200


def test_adding_a_value_writes_the_next_version_through_the_service(
    make_key: KeyFactory,
    admin_browser: tuple[Client, Any],
    django_capture_on_commit_callbacks: Any,
    config_events: list[ConfigChanged],
) -> None:
    browser, admin = admin_browser
    key = make_key()
    config_value_set(key=key, value=1, environment="paper")
    config_key = ConfigKey.objects.get(key=key)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            ADD_URL,
            {
                "config_key": config_key.pk,
                "environment": "paper",
                "value": "42",
                "reason": "from the admin",
                "expected_version": "1",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    row = ConfigValue.objects.get(config_key=config_key, environment="paper", version=2)
    assert (row.value, row.changed_by_id, row.reason) == (42, admin.pk, "from the admin")
    assert [(e.key, e.version) for e in config_events if e.key == key] == [(key, 2)]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"value": "-3"}, "$: -3 is less than the minimum of 0"),
        ({"value": "not json"}, "Enter a valid JSON."),
        ({"environment": "Bad Env"}, "lower-case name"),
        ({"expected_version": "5"}, "is at version 0 now"),
    ],
)
def test_invalid_input_is_shown_on_the_form(
    make_key: KeyFactory, admin_browser: tuple[Client, Any], fields: dict[str, str], message: str
) -> None:
    browser, _ = admin_browser
    config_key = ConfigKey.objects.get(key=make_key())
    data = {"config_key": config_key.pk, "environment": "default", "value": "1", "reason": "r"}
    data.update(fields)
    response = browser.post(ADD_URL, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ConfigValue.objects.filter(config_key=config_key).exists()


def test_past_versions_are_read_only(
    make_key: KeyFactory, admin_browser: tuple[Client, Any]
) -> None:
    browser, _ = admin_browser
    key = make_key()
    row = config_value_set(key=key, value=3)
    page = browser.get(f"/admin/core/configvalue/{row.pk}/change/")
    assert page.status_code == 200
    assert 'name="value"' not in page.content.decode()
    response = browser.post(f"/admin/core/configvalue/{row.pk}/change/", {"value": "4"})
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.value == 3


def test_the_action_prefills_a_new_version(
    make_key: KeyFactory, admin_browser: tuple[Client, Any]
) -> None:
    browser, _ = admin_browser
    key = make_key()
    config_value_set(key=key, value=5, environment="live")
    row = config_value_set(key=key, value=6, environment="live")
    response = browser.post(
        "/admin/core/configvalue/",
        {"action": "write_next_version", "_selected_action": [row.pk]},
    )
    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert target.path == ADD_URL
    query = {name: values[0] for name, values in parse_qs(target.query).items()}
    assert (query["environment"], json.loads(query["value"]), query["expected_version"]) == (
        "live",
        6,
        "2",
    )
    form = browser.get(response["Location"])
    assert form.status_code == 200
    assert 'value="2"' in form.content.decode()  # expected_version prefilled


def test_the_key_action_prefills_the_default_environment(
    make_key: KeyFactory, admin_browser: tuple[Client, Any]
) -> None:
    browser, _ = admin_browser
    config_key = ConfigKey.objects.get(key=make_key(default=9))
    response = browser.post(
        "/admin/core/configkey/",
        {"action": "write_default_environment_value", "_selected_action": [config_key.pk]},
    )
    assert response.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlparse(response["Location"]).query).items()}
    assert (query["environment"], json.loads(query["value"]), query["expected_version"]) == (
        "default",
        9,
        "0",
    )
