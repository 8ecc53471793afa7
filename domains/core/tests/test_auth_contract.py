"""AuthApi, AuditApi and UsersApi, run in-process and against a second process over HTTP:
the same principals, records, profiles and the same error classes on both bindings."""

import pytest
from django.test import override_settings

from domains.core.api import (
    ApiKeyInvalid,
    AuditActionInvalid,
    AuditApi,
    AuditRecord,
    AuthApi,
    TokenExpired,
    TokenInvalid,
    TokenRevoked,
    UserPreferences,
    UserProfile,
    UsersApi,
    UserUnknown,
)
from domains.core.services.tokens import session_revoke
from domains.core.services.users import preferences_set
from domains.core.tests.people import api_key_for, make_user, tokens_for
from dsta.kernel.principal import Principal
from dsta.kernel.rpc.testing import BINDING_PARAMS, RpcBinder

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=BINDING_PARAMS)
def binding(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_validate_returns_the_principal_of_a_token_or_key(
    binding: str, rpc_binding: RpcBinder
) -> None:
    auth = rpc_binding(AuthApi, binding)
    trader = make_user("trader")
    tokens = tokens_for(trader)
    principal = auth.validate(authorization=f"Bearer {tokens.access}")
    assert principal == Principal(
        user_id=trader.pk,
        username=trader.username,
        roles=("trader",),
        scopes=("read", "trade"),
        via="jwt",
        credential_id=str(tokens.session_id),
    )
    assert principal.has_role("analyst")
    assert not principal.has_role("admin")
    keyed = auth.validate(authorization=f"Api-Key {api_key_for(trader, ('read',))}")
    assert (keyed.via, keyed.scopes, keyed.role) == ("api_key", ("read",), "analyst")


def test_validate_raises_the_same_errors(binding: str, rpc_binding: RpcBinder) -> None:
    auth = rpc_binding(AuthApi, binding)
    user = make_user()
    tokens = tokens_for(user)
    with pytest.raises(TokenInvalid):
        auth.validate(authorization="Bearer garbage")
    with pytest.raises(TokenInvalid):
        auth.validate(authorization="Digest abc")
    with pytest.raises(ApiKeyInvalid):
        auth.validate(authorization="Api-Key dsta_nope")
    session_revoke(session_id=tokens.session_id, user_id=user.pk, reason="test")
    with pytest.raises(TokenRevoked):
        auth.validate(authorization=f"Bearer {tokens.access}")
    with override_settings(DSTA_JWT_ACCESS_TTL_SECONDS=-60):
        expired = tokens_for(user).access
    with pytest.raises(TokenExpired):
        auth.validate(authorization=f"Bearer {expired}")


def test_record_appends_to_the_audit_log(binding: str, rpc_binding: RpcBinder) -> None:
    audit = rpc_binding(AuditApi, binding)
    user = make_user()
    record = audit.record(
        action="circuit_breaker.tripped",
        user_id=user.pk,
        target="venue:binance",
        details={"failures": 5},
        source="exchange",
    )
    assert isinstance(record, AuditRecord)
    assert (record.action, record.username, record.details, record.source) == (
        "circuit_breaker.tripped",
        user.username,
        {"failures": 5},
        "exchange",
    )
    with pytest.raises(AuditActionInvalid):
        audit.record(action="Not A Name")


def test_profiles_and_preferences(binding: str, rpc_binding: RpcBinder) -> None:
    users = rpc_binding(UsersApi, binding)
    analyst = make_user("analyst")
    preferences_set(
        user_id=analyst.pk,
        document={"timezone": "Europe/Paris", "quiet_hours": {"start": "23:00", "end": "06:30"}},
    )
    profile = users.get_profile(user_id=analyst.pk)
    assert isinstance(profile, UserProfile)
    assert (profile.username, profile.role, profile.preferences.timezone) == (
        analyst.username,
        "analyst",
        "Europe/Paris",
    )
    preferences = users.get_preferences(user_id=analyst.pk)
    assert isinstance(preferences, UserPreferences)
    assert preferences.quiet_hours is not None
    assert preferences.quiet_hours.end == "06:30"
    with pytest.raises(UserUnknown):
        users.get_preferences(user_id=10**9)
