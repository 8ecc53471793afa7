"""The RBAC matrix: every endpoint of the project, enumerated from the URL conf, so an endpoint
added tomorrow is checked too.

For every DRF endpoint and method:

- an anonymous request is refused (401/403), unless the endpoint is on ``PUBLIC``: health and
  readiness (plain views), login, token refresh, the OIDC login redirect and callback, and
  registration with an invite (its token is the credential). The OpenAPI schema and docs are
  **not** public: they need a signed-in user with any role.
- the endpoint declares a role (``HasRole`` from ``dsta.kernel.permissions``; ``AnyRole`` is the
  default), every role below it is refused (403) and the role itself gets through;
- an endpoint that names an object in its path either checks that another user's object is
  invisible (404; ``OWNED``), or says why it has no owner (``NOT_OWNED``).

Plain Django views outside ``/api/`` (admin, dashboard, health, metrics, the internal RPC) are
checked to refuse anonymous requests unless they are on ``PUBLIC_PAGES``. Nothing under
``/api/`` may be a plain Django view: it would escape the DRF authentication and permissions.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from domains.core.services.roles import user_set_role
from domains.core.services.tokens import session_start
from domains.data.tests.backtests.rbac import OWNED_BACKTEST_ROUTES
from dsta.kernel.permissions import permissions_summary
from dsta.kernel.principal import ROLE_RANK, ROLES

pytestmark = pytest.mark.django_db

# (route, method) pairs that need no identity.
PUBLIC = {
    ("api/v1/auth/login", "post"),
    ("api/v1/auth/refresh", "post"),
    ("api/v1/auth/oidc/login", "get"),
    ("api/v1/auth/oidc/callback", "get"),
    ("api/v1/users/register", "post"),
}
# Plain pages an anonymous visitor may load (200).
PUBLIC_PAGES = {"healthz", "readyz", "dashboard/login/", "admin/login/"}
# Plain-view subtrees guarded by their own framework (Django admin: staff sessions).
SELF_GUARDED_PREFIXES = ("admin/",)
# Path parameters that name shared, not per-user, objects.
NOT_OWNED = {
    "api/v1/config/<str:key>": "configuration keys are global (writes need admin)",
    "api/v1/config/<str:key>/history": "configuration keys are global",
}
# Whole families of endpoints whose path parameters name shared data.
NOT_OWNED_PREFIXES = {
    "api/v1/market-data/": "market data (candles, order books) is the same for everyone",
    # The venue in the path is shared; the account is always the caller's own (account_id or
    # their default): another user's answers 404 (domains/exchange/tests/http/test_endpoints.py,
    # and test_orders.py for {venue}/orders and {venue}/reconcile).
    "api/v1/exchange/<str:venue>/": "a venue is shared; accounts are per user",
}
DUMMIES = {"str": "dummy", "int": "1", "slug": "dummy", "uuid": str(uuid4()), "path": "a/b"}
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Endpoint:
    route: str  # "api/v1/auth/sessions/<str:session_id>"
    callback: Any

    @property
    def view_class(self) -> type[APIView] | None:
        cls = getattr(self.callback, "cls", None)
        return cls if isinstance(cls, type) and issubclass(cls, APIView) else None

    @property
    def methods(self) -> list[str]:
        cls = self.view_class
        return [m for m in METHODS if cls is not None and hasattr(cls, m)]

    def path(self, **values: str) -> str:
        def fill(match: re.Match[str]) -> str:
            converter, name = match["converter"] or "str", match["name"]
            return values.get(name, DUMMIES.get(converter, "dummy"))

        return "/" + re.sub(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>", fill, self.route)


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[Endpoint]:
    for pattern in patterns:
        if isinstance(pattern.pattern, RegexPattern):
            # Only Django's admin uses regex routes here; it is self-guarded (checked below).
            route = prefix + "<regex>"
        else:
            assert isinstance(pattern.pattern, RoutePattern)
            route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield Endpoint(route, pattern.callback)


ENDPOINTS = list(_walk(get_resolver().url_patterns))
DRF = [e for e in ENDPOINTS if e.view_class is not None]
PLAIN = [e for e in ENDPOINTS if e.view_class is None]


def required(endpoint: Endpoint, method: str) -> dict[str, Any]:
    """The role and scopes the view demands for ``method`` (from its own get_permissions)."""
    cls = endpoint.view_class
    assert cls is not None
    view = cls(**getattr(endpoint.callback, "initkwargs", {}))
    django_request = getattr(APIRequestFactory(), method)(endpoint.path())
    view.request = Request(django_request)
    view.args, view.kwargs, view.format_kwarg = (), {}, None
    return permissions_summary(list(view.get_permissions()))


@pytest.fixture
def people(django_user_model: Any) -> dict[str, Any]:
    """One user per role."""
    users = {}
    for role in ROLES:
        user = django_user_model.objects.create_user(username=f"{role}-{uuid4().hex[:8]}")
        user_set_role(user=user, role=role)
        users[role] = user
    return users


def as_user(user: Any) -> APIClient:
    """A client with a fresh token session (logout revokes its own, so never share one)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session_start(user=user).access}")
    return client


def call(client: APIClient, method: str, path: str) -> Any:
    # Prefer JSON: the schema view renders errors with its negotiated renderer; the docs pages
    # only speak HTML.
    return getattr(client, method)(
        path,
        {} if method == "get" else None,
        format="json",
        HTTP_ACCEPT="application/json, */*;q=0.1",
    )


def error_code(response: Any) -> str | None:
    """The code of a JSON error body (None for an HTML page)."""
    if not response.get("Content-Type", "").startswith("application/json"):
        return None
    return str(response.json()["error"]["code"])


def test_the_url_conf_was_walked() -> None:
    routes = {e.route for e in DRF}
    assert {"api/v1/auth/login", "api/v1/users/audit-log", "api/v1/config/<str:key>"} <= routes
    assert {route for route, _ in PUBLIC} <= routes, "a PUBLIC entry names no endpoint"
    assert set(NOT_OWNED) <= routes, "a NOT_OWNED entry names no endpoint"


def test_nothing_under_api_escapes_drf() -> None:
    escaped = [e.route for e in PLAIN if e.route.startswith("api/")]
    assert escaped == [], "plain Django views under /api/ skip authentication and RBAC"


@pytest.mark.parametrize(
    ("route", "method"),
    [(e.route, m) for e in DRF for m in e.methods if (e.route, m) not in PUBLIC],
)
def test_anonymous_requests_are_refused(route: str, method: str) -> None:
    endpoint = next(e for e in DRF if e.route == route)
    response = call(APIClient(), method, endpoint.path())
    assert response.status_code in (401, 403), (route, method, response.status_code)
    assert error_code(response) in ("unauthenticated", "forbidden", None)


@pytest.mark.parametrize(
    ("route", "method"),
    [(e.route, m) for e in DRF for m in e.methods if (e.route, m) not in PUBLIC],
)
def test_each_endpoint_enforces_its_role(route: str, method: str, people: dict[str, Any]) -> None:
    endpoint = next(e for e in DRF if e.route == route)
    demands = required(endpoint, method)
    assert demands["role"] is not None, f"{method.upper()} /{route} declares no role (HasRole)"
    needed = ROLE_RANK[demands["role"]]
    for role in ROLES:
        response = call(as_user(people[role]), method, endpoint.path())
        if ROLE_RANK[role] < needed:
            assert response.status_code == 403, (route, method, role, response.status_code)
            assert error_code(response) in ("forbidden", None)
        else:
            assert response.status_code not in (401, 403), (
                route,
                method,
                role,
                response.status_code,
                response.content[:300],
            )
            assert response.status_code < 500, (route, method, role, response.content[:300])


# --- another user's objects ------------------------------------------------------------------

Factory = Callable[[Any], dict[str, str]]


def _session(owner: Any) -> dict[str, str]:
    return {"session_id": str(session_start(user=owner).session_id)}


def _api_key(owner: Any) -> dict[str, str]:
    created = as_user(owner).post("/api/v1/auth/api-keys", {"scopes": ["read"]}, format="json")
    assert created.status_code == 201, created.content
    return {"key_id": created.json()["id"]}


def _job(owner: Any) -> dict[str, str]:
    from dsta.kernel.jobs.models import Job

    return {"job_id": str(Job.objects.create(kind="tests.rbac", owner_id=owner.pk).pk)}


def _secret(owner: Any) -> dict[str, str]:
    key = f"tests/rbac-{uuid4().hex[:8]}"
    created = as_user(owner).put(
        f"/api/v1/config/secrets/{key}", {"kind": "generic", "value": "v4lue"}, format="json"
    )
    assert created.status_code in (200, 201), created.content
    return {"key": key}


def _template(owner: Any) -> dict[str, str]:
    name = f"rbac-{uuid4().hex[:8]}"
    created = as_user(owner).post(
        "/api/v1/notifications/templates", {"name": name, "body": "hello"}, format="json"
    )
    assert created.status_code == 201, created.content
    return {"name": name}


# route -> how to make an object of a given owner (returns the path parameters naming it).
OWNED: dict[str, Factory] = {
    "api/v1/auth/sessions/<str:session_id>": _session,
    "api/v1/auth/api-keys/<str:key_id>": _api_key,
    "api/v1/jobs/<str:job_id>/": _job,
    "api/v1/jobs/<str:job_id>/cancel/": _job,
    "api/v1/config/secrets/<path:key>": _secret,
    "api/v1/notifications/templates/<str:name>": _template,
    # Backtest runs, reports and studies: factories live beside their tests.
    **OWNED_BACKTEST_ROUTES,
}


def test_every_object_endpoint_is_classified() -> None:
    with_parameters = {
        e.route for e in DRF if "<" in e.route and not e.route.startswith(tuple(NOT_OWNED_PREFIXES))
    }
    unclassified = with_parameters - set(OWNED) - set(NOT_OWNED)
    assert unclassified == set(), "add an OWNED factory (or a NOT_OWNED reason) for these"


@pytest.mark.parametrize(
    ("route", "method"),
    # PUT is left out: objects live in per-user namespaces, so a stranger's PUT to the same
    # name writes the stranger's own object, never the owner's.
    [(e.route, m) for e in DRF for m in e.methods if e.route in OWNED and m != "put"],
)
def test_another_users_object_is_invisible(route: str, method: str, django_user_model: Any) -> None:
    endpoint = next(e for e in DRF if e.route == route)
    role = required(endpoint, method)["role"] or "viewer"
    owner, stranger = (
        django_user_model.objects.create_user(username=f"{name}-{uuid4().hex[:8]}")
        for name in ("owner", "stranger")
    )
    # Both are traders (the highest role short of admin, who sees every user's objects).
    assert ROLE_RANK[role] <= ROLE_RANK["trader"], "an admin-only endpoint belongs in NOT_OWNED"
    for person in (owner, stranger):
        user_set_role(user=person, role="trader")
    path = endpoint.path(**OWNED[route](owner))
    response = call(as_user(stranger), method, path)
    assert response.status_code == 404, (route, method, response.status_code, response.content)
    assert str(error_code(response)).endswith("not_found")


# --- plain Django views ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "route",
    [
        e.route
        for e in PLAIN
        if "<regex>" not in e.route and not e.route.startswith(SELF_GUARDED_PREFIXES)
    ],
)
def test_plain_views_refuse_anonymous_requests_unless_public(route: str) -> None:
    endpoint = next(e for e in PLAIN if e.route == route)
    response = APIClient().get(endpoint.path())
    if route in PUBLIC_PAGES:
        assert response.status_code == 200, (route, response.status_code)
    else:
        # A redirect to a login page, a refusal, or "not here" (the RPC endpoint is off
        # without a service token); never the page itself.
        assert response.status_code in (301, 302, 401, 403, 404, 405), (
            route,
            response.status_code,
        )


def test_the_admin_redirects_anonymous_visitors_to_its_login() -> None:
    response = APIClient().get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
