"""OpenID Connect sign-in, end to end against a local provider served over real HTTP."""

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from domains.core.models import AuditEntry, ExternalIdentity
from domains.core.tests.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    LocalProvider,
    _new_key,
    local_oidc_provider,
)
from domains.core.tests.people import error_of, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider() -> Iterator[LocalProvider]:
    with (
        local_oidc_provider() as running,
        override_settings(
            DSTA_OIDC_ISSUER=running.issuer,
            DSTA_OIDC_CLIENT_ID=CLIENT_ID,
            DSTA_OIDC_CLIENT_SECRET=CLIENT_SECRET,
            DSTA_OIDC_DEFAULT_ROLE="viewer",
        ),
    ):
        yield running


def start(client: APIClient, next_path: str = "") -> str:
    """GET /oidc/login; returns the provider URL the browser is sent to."""
    response = client.get("/api/v1/auth/oidc/login", {"next": next_path} if next_path else {})
    assert response.status_code == 302, response.content
    assert "dsta_oidc_state" in response.cookies
    return str(response["Location"])


def approve(authorize_url: str) -> tuple[str, dict[str, str]]:
    """What the browser does at the provider: follow to its redirect back to us."""
    answer = httpx.get(authorize_url, follow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    back = urlparse(answer.headers["location"])
    return back.path, {key: values[0] for key, values in parse_qs(back.query).items()}


def sign_in(client: APIClient) -> dict[str, str]:
    path, query = approve(start(client))
    response = client.get(path, query)
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_sign_in_creates_the_user_once_and_issues_our_tokens(provider: LocalProvider) -> None:
    client = APIClient()
    authorize = urlparse(start(client))
    params = parse_qs(authorize.query)
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == (
        f"{provider.issuer}/authorize"
    )
    assert params["code_challenge_method"] == ["S256"]
    assert params["scope"] == ["openid email profile"]
    assert {"state", "nonce", "code_challenge"} <= set(params)
    path, query = approve(start(client))  # the cookie now holds this second state
    tokens = client.get(path, query).json()

    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    principal = bearer.get("/api/v1/auth/validate").json()
    assert (principal["username"], principal["roles"], principal["via"]) == (
        "ada",
        ["viewer"],
        "jwt",
    )
    identity = ExternalIdentity.objects.get(issuer=provider.issuer, subject="subject-123")
    assert identity.user.email == "ada@example.com"
    assert not identity.user.has_usable_password()
    # The browser is signed in too (Django session), for the dashboard.
    assert client.get("/api/v1/users/profile").json()["username"] == "ada"
    # The token request carried the PKCE verifier and the client's credentials.
    assert "code_verifier" in provider.token_requests[-1]

    again = sign_in(APIClient())
    assert again["session_id"] != tokens["session_id"]
    assert ExternalIdentity.objects.filter(issuer=provider.issuer).count() == 1
    logins = AuditEntry.objects.filter(user_id=identity.user_id, action="auth.login")
    assert [entry.details["method"] for entry in logins] == ["oidc", "oidc"]


def test_an_existing_username_gets_a_suffix(provider: LocalProvider) -> None:
    make_user(username="ada")
    sign_in(APIClient())
    assert ExternalIdentity.objects.get(issuer=provider.issuer).user.username == "ada-2"


def test_next_redirects_to_a_local_path_only(provider: LocalProvider) -> None:
    client = APIClient()
    path, query = approve(start(client, "/dashboard/"))
    response = client.get(path, query)
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
    outside = client.get("/api/v1/auth/oidc/login", {"next": "https://evil.example/"})
    assert outside.status_code == 400
    assert error_of(outside)["code"] == "invalid_input"


def test_a_callback_without_the_browser_s_state_is_refused(provider: LocalProvider) -> None:
    path, query = approve(start(APIClient()))
    response = APIClient().get(path, query)  # another browser: no state cookie
    assert response.status_code == 401
    assert error_of(response)["code"] == "oidc_failed"


def test_a_replayed_callback_is_refused(provider: LocalProvider) -> None:
    client = APIClient()
    path, query = approve(start(client))
    state_cookie = client.cookies["dsta_oidc_state"].value
    assert client.get(path, query).status_code == 200
    client.cookies["dsta_oidc_state"] = state_cookie
    replay = client.get(path, query)
    assert replay.status_code == 401
    assert error_of(replay)["code"] == "oidc_failed"


@pytest.mark.parametrize("misbehaviour", ["unpublished key", "wrong nonce", "refused code"])
def test_a_bad_answer_from_the_provider_is_refused(
    provider: LocalProvider, misbehaviour: str
) -> None:
    if misbehaviour == "unpublished key":
        provider.signing_key = _new_key()  # same kid, but not the published key
    elif misbehaviour == "wrong nonce":
        provider.nonce_override = "another-nonce"
    else:
        provider.refuse_code = True
    client = APIClient()
    path, query = approve(start(client))
    response = client.get(path, query)
    assert response.status_code == 401, response.content
    assert error_of(response)["code"] == "oidc_failed"
    assert not ExternalIdentity.objects.filter(issuer=provider.issuer).exists()


def test_the_provider_s_error_is_reported(provider: LocalProvider) -> None:
    response = APIClient().get("/api/v1/auth/oidc/callback", {"error": "access_denied"})
    assert response.status_code == 401
    assert error_of(response)["details"] == {"error": "access_denied"}


def test_not_configured_is_404_and_an_unreachable_provider_503() -> None:
    with override_settings(DSTA_OIDC_ISSUER="", DSTA_OIDC_CLIENT_ID=""):
        response = APIClient().get("/api/v1/auth/oidc/login")
        assert response.status_code == 404
        assert error_of(response)["code"] == "oidc_not_configured"
    with local_oidc_provider() as gone:
        issuer = gone.issuer
    with override_settings(DSTA_OIDC_ISSUER=issuer, DSTA_OIDC_CLIENT_ID=CLIENT_ID):
        response = APIClient().get("/api/v1/auth/oidc/login")
        assert response.status_code == 503
        assert error_of(response)["code"] == "oidc_provider_unavailable"
