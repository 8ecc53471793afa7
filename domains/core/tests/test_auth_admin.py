"""Admin pages: users with roles, API keys (hash only), sessions, the audit log read-only."""

from typing import Any

import pytest
from django.test import Client

from domains.core.models import ApiKey, AuditEntry
from domains.core.services.audit import audit_record
from domains.core.services.roles import user_roles
from domains.core.tests.people import api_key_for, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser() -> Client:
    client = Client()
    client.force_login(make_user("admin"))
    return client


def test_key_pages_show_the_hash_never_the_key(browser: Client) -> None:
    owner = make_user()
    key = api_key_for(owner)
    row = ApiKey.objects.get(user=owner)
    listing = browser.get("/admin/core/apikey/")
    page = browser.get(f"/admin/core/apikey/{row.pk}/change/")
    assert listing.status_code == page.status_code == 200
    text = page.content.decode()
    assert row.key_hash in text
    assert key not in text
    assert key not in listing.content.decode()
    assert browser.get("/admin/core/apikey/add/").status_code == 403


def test_revoking_a_key_in_the_admin(browser: Client) -> None:
    owner = make_user()
    api_key_for(owner)
    row = ApiKey.objects.get(user=owner)
    response = browser.post(
        "/admin/core/apikey/", {"action": "revoke", "_selected_action": [str(row.pk)]}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None


def test_the_audit_log_is_read_only(browser: Client) -> None:
    entry = audit_record(action="order.placed", target="order:1")
    assert browser.get("/admin/core/auditentry/").status_code == 200
    page = browser.get(f"/admin/core/auditentry/{entry.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert browser.get("/admin/core/auditentry/add/").status_code == 403
    assert browser.post(f"/admin/core/auditentry/{entry.pk}/delete/").status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_roles_are_set_from_the_user_list(browser: Client) -> None:
    person: Any = make_user("viewer")
    response = browser.post(
        "/admin/auth/user/",
        {"action": "set_role_trader", "_selected_action": [str(person.pk)]},
    )
    assert response.status_code == 302
    assert user_roles(person) == ("trader",)
    entry = AuditEntry.objects.get(action="user.role_changed", user_id=person.pk)
    assert (entry.details["from"], entry.details["to"]) == ("viewer", "trader")
    assert browser.get("/admin/auth/user/").status_code == 200
    assert browser.get("/admin/core/authsession/").status_code == 200
    assert browser.get("/admin/core/userinvite/").status_code == 200
    assert browser.get("/admin/core/externalidentity/").status_code == 200


def test_a_non_admin_cannot_open_the_admin() -> None:
    client = Client()
    client.force_login(make_user("trader"))
    assert client.get("/admin/core/auditentry/").status_code == 302  # to the login page
