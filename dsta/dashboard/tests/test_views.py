"""The dashboard's pages through Django's test client: login required, login/logout, what the
page tells its scripts, and the security headers."""

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from dsta.dashboard.views import CONTENT_SECURITY_POLICY

PASSWORD = "correct horse battery staple 42"
PANELS = ("market", "config", "jobs", "alerts")


@pytest.fixture
def viewer(db: None) -> User:
    user = User.objects.create_user(username="vera", password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    return user


@pytest.fixture
def admin_user(db: None) -> User:
    return User.objects.create_superuser(username="ada", email="", password=PASSWORD)


def test_root_redirects_to_the_dashboard(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


@pytest.mark.django_db
def test_the_dashboard_sends_anonymous_visitors_to_its_login(client: Client) -> None:
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/login/?next=/dashboard/"


@pytest.mark.django_db
def test_the_login_page_renders_our_form_with_a_strict_csp(client: Client) -> None:
    response = client.get("/dashboard/login/?next=/dashboard/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="username"' in body
    assert 'name="password"' in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert 'name="next" value="/dashboard/"' in body
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY


@pytest.mark.django_db
def test_the_login_page_offers_single_sign_on_only_when_configured(
    client: Client, settings: Any
) -> None:
    settings.DSTA_OIDC_ISSUER = ""
    assert 'id="sso-login"' not in client.get("/dashboard/login/").content.decode()
    settings.DSTA_OIDC_ISSUER = "https://id.example.com"
    body = client.get("/dashboard/login/?next=/dashboard/").content.decode()
    assert 'href="/api/v1/auth/oidc/login?next=%2Fdashboard%2F"' in body


def test_signing_in_opens_the_dashboard(client: Client, viewer: User) -> None:
    response = client.post(
        "/dashboard/login/", {"username": "vera", "password": PASSWORD, "next": "/dashboard/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


def test_a_wrong_password_stays_on_the_login_page_with_an_error(
    client: Client, viewer: User
) -> None:
    response = client.post("/dashboard/login/", {"username": "vera", "password": "wrong"})
    assert response.status_code == 200
    assert 'class="form-error"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_signed_in_user_skips_the_login_page(client: Client, viewer: User) -> None:
    client.force_login(viewer)
    response = client.get("/dashboard/login/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


def test_the_page_has_every_panel_and_a_csrf_cookie_for_the_scripts(
    client: Client, viewer: User
) -> None:
    client.force_login(viewer)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    body = response.content.decode()
    for panel in PANELS:
        assert f'data-panel="{panel}"' in body
    assert '<script type="module" src="/static/dashboard/js/main.js">' in body
    # The scripts read the token from the cookie for PUT/POST (the kill switch, cancel).
    assert "csrftoken" in response.cookies
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert 'data-username="vera"' in body
    assert 'data-role="viewer"' in body


def test_only_admins_are_told_they_may_write_configuration(
    client: Client, viewer: User, admin_user: User
) -> None:
    client.force_login(viewer)
    assert 'data-can-write-config="false"' in client.get("/dashboard/").content.decode()
    client.force_login(admin_user)
    body = client.get("/dashboard/").content.decode()
    assert 'data-can-write-config="true"' in body
    assert 'data-role="admin"' in body


def test_user_text_is_escaped_in_the_page(client: Client, db: None) -> None:
    user = User.objects.create_user(username='"><script>x</script>', password=PASSWORD)
    client.force_login(user)
    body = client.get("/dashboard/").content.decode()
    assert "<script>x</script>" not in body
    assert "&quot;&gt;&lt;script&gt;" in body


def test_signing_out_needs_a_post_and_ends_the_session(client: Client, viewer: User) -> None:
    client.force_login(viewer)
    assert client.get("/dashboard/logout/").status_code == 405
    response = client.post("/dashboard/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/login/"
    assert client.get("/dashboard/").status_code == 302


def test_the_logout_form_posts_with_a_csrf_token(client: Client, viewer: User) -> None:
    client.force_login(viewer)
    body = client.get("/dashboard/").content.decode()
    form = re.search(r'<form method="post" action="/dashboard/logout/".*?</form>', body, re.S)
    assert form is not None
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
