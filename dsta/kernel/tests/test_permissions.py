"""The kernel's permission checks and throttles: roles ranked and capped by scopes, owner
scoping that answers 404, per-user and per-key throttling with Retry-After."""

from typing import Any, cast
from uuid import uuid4

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from dsta.kernel.errors import NotFound
from dsta.kernel.permissions import (
    AnyRole,
    HasRole,
    RequiresScope,
    get_owned_or_404,
    owned_by_request_user,
    permissions_summary,
    principal_of,
)
from dsta.kernel.principal import Principal, PrincipalUser, scopes_for_roles
from dsta.kernel.throttling import AnonymousRateThrottle, PrincipalRateThrottle


def principal(
    roles: tuple[str, ...], scopes: tuple[str, ...] | None = None, **kw: Any
) -> Principal:
    return Principal(
        user_id=kw.pop("user_id", 7),
        username="p",
        roles=roles,
        scopes=scopes_for_roles(roles) if scopes is None else scopes,
        **kw,
    )


@pytest.mark.parametrize(
    ("roles", "scopes", "role"),
    [
        (("viewer",), None, "viewer"),
        (("trader",), None, "trader"),
        (("viewer", "admin"), None, "admin"),
        (("admin",), ("read",), "analyst"),
        (("admin",), ("read", "trade"), "trader"),
        (("trader",), ("admin",), "trader"),  # a scope never raises a role
        (("viewer",), ("trade",), "viewer"),
        ((), None, None),
        (("admin",), (), None),
        (("pope",), ("read",), None),
    ],
)
def test_the_effective_role_is_the_highest_capped_by_scopes(
    roles: tuple[str, ...], scopes: tuple[str, ...] | None, role: str | None
) -> None:
    assert principal(roles, scopes).role == role


def test_roles_include_every_lower_role() -> None:
    trader = principal(("trader",))
    assert [trader.has_role(r) for r in ("viewer", "analyst", "trader", "admin")] == [
        True,
        True,
        True,
        False,
    ]
    assert trader.has_scope("trade")
    assert not trader.has_scope("admin")
    assert PrincipalUser(principal(("admin",))).is_staff
    assert not PrincipalUser(trader).is_staff


def test_permission_classes_are_checked_on_a_real_view() -> None:
    class TradeView(APIView):
        permission_classes = [HasRole("trader") & RequiresScope("trade")]
        throttle_classes: list[Any] = []

        def post(self, request: Request) -> Response:
            return Response({"user": principal_of(request).user_id})  # type: ignore[union-attr]

    def call(who: Principal | None) -> int:
        request = APIRequestFactory().post("/trade", {}, format="json")
        if who is not None:
            force_authenticate(request, user=cast(Any, PrincipalUser(who)), token=cast(Any, who))
        return int(TradeView.as_view()(request).status_code)

    assert call(principal(("trader",))) == 200
    assert call(principal(("admin",))) == 200
    assert call(principal(("analyst",))) == 403
    assert call(principal(("admin",), ("read",))) == 403  # a read-only key of an admin
    assert call(None) == 401  # anonymous: the settings' Bearer authenticator asks for a token


def test_factories_are_cached_and_validate_their_arguments() -> None:
    assert HasRole("viewer") is AnyRole
    assert RequiresScope("trade") is RequiresScope("trade")
    with pytest.raises(ValueError, match="unknown role"):
        HasRole("pope")
    with pytest.raises(ValueError, match="scopes"):
        RequiresScope("everything")
    summary = permissions_summary([(HasRole("analyst") & RequiresScope("read"))(), AnyRole()])
    assert summary == {"role": "analyst", "scopes": ["read"]}


@pytest.mark.django_db
def test_owner_scoping_answers_404_for_another_users_object() -> None:
    users = get_user_model().objects
    alice, bob = users.create_user("alice-k"), users.create_user("bob-k")
    request = APIRequestFactory().get("/")
    request.auth = principal(("viewer",), user_id=alice.pk)
    queryset = users.filter(pk__in=[alice.pk, bob.pk])
    assert list(owned_by_request_user(queryset, request, owner_field="pk")) == [alice]
    assert get_owned_or_404(queryset, request, owner_field="pk", pk=alice.pk) == alice
    for lookup in (bob.pk, "not-a-number"):
        with pytest.raises(NotFound):
            get_owned_or_404(queryset, request, owner_field="pk", pk=lookup)
    request.auth = principal(("admin",), user_id=alice.pk)
    assert owned_by_request_user(queryset, request, owner_field="pk").count() == 2
    assert (
        owned_by_request_user(queryset, request, owner_field="pk", admin_sees_all=False).count()
        == 1
    )
    anonymous = APIRequestFactory().get("/")
    assert not owned_by_request_user(queryset, anonymous, owner_field="pk").exists()


class Ping(APIView):
    permission_classes: list[Any] = []
    throttle_classes = [PrincipalRateThrottle, AnonymousRateThrottle]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


def ping(who: Principal | None, address: str = "192.0.2.10") -> Any:
    request = APIRequestFactory().get("/ping", REMOTE_ADDR=address)
    if who is not None:
        force_authenticate(request, user=cast(Any, PrincipalUser(who)), token=cast(Any, who))
    return Ping.as_view()(request)


def test_throttling_is_per_user_per_key_and_per_address() -> None:
    rates = {"user": "2/min", "api_key": "1/min", "anon": "1/min"}
    # Counters no other test (or parallel run sharing a Redis cache) uses.
    user_id = 10**8 + uuid4().int % 10**8
    with override_settings(DSTA_THROTTLE_RATES=rates):
        person = principal(("viewer",), user_id=user_id, via="jwt", credential_id="s1")
        other_session = principal(("viewer",), user_id=user_id, via="jwt", credential_id="s2")
        assert [ping(person).status_code, ping(other_session).status_code] == [200, 200]
        limited = ping(person)
        assert limited.status_code == 429
        assert 0 < int(limited["Retry-After"]) <= 60

        key_a = principal(("viewer",), user_id=user_id, via="api_key", credential_id=f"{user_id}a")
        key_b = principal(("viewer",), user_id=user_id, via="api_key", credential_id=f"{user_id}b")
        assert [ping(key_a).status_code, ping(key_a).status_code] == [200, 429]
        assert ping(key_b).status_code == 200  # each key has its own budget

        address = f"2001:db8::{uuid4().hex[:4]}"
        assert [ping(None, address).status_code, ping(None, address).status_code] == [200, 429]
    with override_settings(DSTA_THROTTLE_RATES={"user": None, "api_key": None, "anon": None}):
        assert ping(person).status_code == 200  # a rate of None turns the throttle off
