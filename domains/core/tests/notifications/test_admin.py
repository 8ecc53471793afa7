"""Admin pages: templates are checked like the API checks them; logs are read-only."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from domains.core.models import NotificationTemplate
from domains.core.services.notifications import notification_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(django_user_model: Any) -> Client:
    client = Client()
    client.force_login(django_user_model.objects.create_superuser(username="root", email=""))
    return client


def test_template_pages_validate_and_store_variables(browser: Client) -> None:
    add = "/admin/core/notificationtemplate/add/"
    refused = browser.post(add, {"name": "t", "subject": "", "body": "{% load static %}"})
    assert refused.status_code == 200
    assert "do not allow" in refused.content.decode() or "not a valid template" in (
        refused.content.decode()
    )
    created = browser.post(add, {"name": "t", "subject": "{{ a }}", "body": "{{ b }}"})
    assert created.status_code == 302
    assert NotificationTemplate.objects.get(name="t").variables == ["a", "b"]


def test_notifications_and_delivery_logs_are_read_only(
    browser: Client, make_user: Callable[..., Any]
) -> None:
    user = make_user()
    notification = notification_send(
        owner_id=user.pk, subject="Hello admin", body="b", channels=["in_app"], dispatch=False
    ).notification
    log = notification.deliveries.get()
    listing = browser.get("/admin/core/notification/")
    assert listing.status_code == 200
    assert "Hello admin" in listing.content.decode()
    page = browser.get(f"/admin/core/notification/{notification.pk}/change/")
    assert page.status_code == 200
    assert "in_app" in page.content.decode()
    assert browser.get("/admin/core/notification/add/").status_code == 403
    assert browser.get("/admin/core/deliverylog/").status_code == 200
    assert browser.get("/admin/core/deliverylog/add/").status_code == 403
    assert (
        browser.post(f"/admin/core/deliverylog/{log.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert browser.get("/admin/core/notificationpreference/").status_code == 200


def test_preference_pages_validate(browser: Client, make_user: Callable[..., Any]) -> None:
    user = make_user()
    response = browser.post(
        "/admin/core/notificationpreference/add/",
        {
            "owner": user.pk,
            "channels_by_priority": '{"low": ["sms"]}',
            "email": "",
            "telegram_chat_id": "",
            "webhook_url": "",
            "quiet_hours_mode": "defer",
        },
    )
    assert response.status_code == 200
    assert "channels_by_priority.low" in response.content.decode()
