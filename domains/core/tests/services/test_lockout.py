"""Login lockout: failures per username+address lock the pair out for a cool-off, on the API
and the admin login alike; a success forgets the failures; the lock ends by itself."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from domains.core.models import AuditEntry
from domains.core.services import lockout
from domains.core.tests.people import PASSWORD, error_of, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def three_failures_lock_for_a_minute() -> Iterator[None]:
    with override_settings(DSTA_LOGIN_MAX_FAILURES=3, DSTA_LOGIN_LOCKOUT_SECONDS=60):
        yield


def api_login(username: str, password: str, address: str = "10.0.0.1") -> Any:
    return APIClient(REMOTE_ADDR=address).post(
        "/api/v1/auth/login", {"username": username, "password": password}, format="json"
    )


def test_repeated_failures_lock_the_pair_out_then_the_cool_off_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = make_user(password=PASSWORD)
    assert [api_login(user.username, "wrong").status_code for _ in range(2)] == [401, 401]
    third = api_login(user.username, "wrong")
    assert third.status_code == 429
    assert error_of(third)["code"] == "login_locked"
    assert 0 < error_of(third)["details"]["retry_after"] <= 60
    assert 0 < int(third["Retry-After"]) <= 60

    # Even the right password is refused while the pair cools off...
    locked = api_login(user.username, PASSWORD)
    assert locked.status_code == 429
    # ...but the same user from another address, or another user, is not affected.
    assert api_login(user.username, PASSWORD, address="10.0.0.2").status_code == 200
    assert AuditEntry.objects.filter(user_id=user.pk, action="auth.login_locked").count() == 1

    later = time.time() + 61
    monkeypatch.setattr(lockout, "clock", lambda: later)
    assert api_login(user.username, PASSWORD).status_code == 200


def test_a_success_forgets_earlier_failures() -> None:
    user = make_user(password=PASSWORD)
    api_login(user.username, "wrong")
    api_login(user.username, "wrong")
    assert api_login(user.username, PASSWORD).status_code == 200
    assert lockout.login_failure_count(user.username, "10.0.0.1") == 0
    assert api_login(user.username, "wrong").status_code == 401  # counting starts again


def test_the_admin_login_shares_the_lockout() -> None:
    admin = make_user("admin", password=PASSWORD)
    browser = Client(REMOTE_ADDR="10.0.0.9")
    for _ in range(3):
        page = browser.post("/admin/login/", {"username": admin.username, "password": "wrong"})
        assert page.status_code == 200  # the form again, with an error
    refused = browser.post("/admin/login/", {"username": admin.username, "password": PASSWORD})
    assert refused.status_code == 200  # locked: even the right password shows the form again
    assert api_login(admin.username, PASSWORD, address="10.0.0.9").status_code == 429

    other = make_user("admin", password=PASSWORD)
    assert (
        browser.post(
            "/admin/login/", {"username": other.username, "password": PASSWORD}
        ).status_code
        == 302
    )
    entry = AuditEntry.objects.get(user_id=other.pk, action="auth.login")
    assert entry.details == {"method": "session"}
    assert entry.ip == "10.0.0.9"
