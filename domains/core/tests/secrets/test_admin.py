"""Admin: secrets are listed and edited by metadata; a value goes in and never comes out."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from domains.core.models import AuditEntry, Secret
from domains.core.services.secrets import secret_read, secret_set
from domains.core.tests.secrets.conftest import API_KEY, API_SECRET, credentials

pytestmark = pytest.mark.django_db
ADD = "/admin/core/secret/add/"


@pytest.fixture
def browser(django_user_model: Any) -> Client:
    client = Client()
    client.force_login(django_user_model.objects.create_superuser(username="root", email=""))
    return client


def test_adding_and_replacing_never_shows_a_value(
    browser: Client, make_user: Callable[..., Any]
) -> None:
    owner = make_user()
    form = browser.get(ADD)
    assert form.status_code == 200
    assert 'type="password"' in form.content.decode()
    created = browser.post(
        ADD,
        {
            "owner": owner.pk,
            "key": "exchange/binance/main",
            "kind": "exchange_credentials",
            **credentials(),
        },
    )
    assert created.status_code == 302, created.content.decode()[:3000]
    row = Secret.objects.get(owner=owner)
    assert secret_read(owner_id=owner.pk, key=row.key, reader="t").fields == credentials()

    for page in (f"/admin/core/secret/{row.pk}/change/", "/admin/core/secret/"):
        html = browser.get(page).content.decode()
        assert "exchange/binance/main" in html
        for plaintext in (API_KEY, API_SECRET, row.ciphertext):
            assert plaintext not in html

    replaced = browser.post(
        f"/admin/core/secret/{row.pk}/change/", {"kind": "generic", "value": "generic-plain"}
    )
    assert replaced.status_code == 302
    row.refresh_from_db()
    assert (row.kind, row.version) == ("generic", 2)
    page = browser.get(f"/admin/core/secret/{row.pk}/change/").content.decode()
    assert "generic-plain" not in page
    assert AuditEntry.objects.filter(action="secret.replaced", user_id=owner.pk).exists()


def test_a_change_without_a_new_value_is_refused(
    browser: Client, make_user: Callable[..., Any]
) -> None:
    owner = make_user()
    row = secret_set(owner_id=owner.pk, key="k", kind="generic", value="old").secret
    page = browser.post(f"/admin/core/secret/{row.pk}/change/", {"kind": "generic"})
    assert page.status_code == 200
    assert "Enter the new value" in page.content.decode()
    assert secret_read(owner_id=owner.pk, key="k", reader="t").value == "old"


def test_deleting_goes_through_the_service(browser: Client, make_user: Callable[..., Any]) -> None:
    owner = make_user()
    row = secret_set(owner_id=owner.pk, key="k", kind="generic", value="v").secret
    response = browser.post(f"/admin/core/secret/{row.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Secret.objects.exists()
    assert AuditEntry.objects.filter(action="secret.deleted", user_id=owner.pk).exists()
    listing = browser.get("/admin/core/secret/").content.decode()
    assert "delete_selected" not in listing
