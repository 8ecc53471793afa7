"""Live-account credentials come from core's secrets (briefly cached), and the exchange admin
pages: venue configs (validated), live accounts, the request log, the status page."""

from typing import Any
from uuid import uuid4

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from domains.exchange.adapters.ccxt_gateway import VenueCredentials
from domains.exchange.api import AuthFailed
from domains.exchange.models import ExchangeConfig
from domains.exchange.services.accounts import live_account_create
from domains.exchange.services.credentials import CredentialStore, _reveal_through_core
from domains.exchange.tests.resilience.conftest import SimClock
from dsta.kernel import rpc

pytestmark = pytest.mark.django_db


@pytest.fixture
def trader(django_user_model: Any) -> Any:
    user = django_user_model.objects.create_user(username=f"t-{uuid4().hex[:8]}")
    user.groups.set([Group.objects.get_or_create(name="trader")[0]])
    return user


def store_secret(user: Any, key: str, api_key: str = "key-1234567") -> None:
    client = APIClient()
    client.force_authenticate(user)
    response = client.put(
        f"/api/v1/config/secrets/{key}",
        {"kind": "exchange_credentials", "value": {"api_key": api_key, "secret": "s3cr3t-value"}},
        format="json",
    )
    assert response.status_code in (200, 201), response.content


def test_credentials_are_revealed_through_core_and_cached_briefly(trader: Any):
    store_secret(trader, "exchange/binance/main")
    reveals: list[str] = []

    def counting(owner_id: int, key: str) -> VenueCredentials:
        reveals.append(key)
        return _reveal_through_core(owner_id, key)

    clock = SimClock()
    store = CredentialStore(reveal=counting, ttl=60, clock=clock)
    first = store.get(owner_id=trader.pk, key="exchange/binance/main")
    assert (first.api_key, first.secret) == ("key-1234567", "s3cr3t-value")
    assert "s3cr3t" not in repr(first)
    store.get(owner_id=trader.pk, key="exchange/binance/main")
    assert len(reveals) == 1  # cached
    store_secret(trader, "exchange/binance/main", api_key="key-rotated")
    clock.advance(61)
    assert store.get(owner_id=trader.pk, key="exchange/binance/main").api_key == "key-rotated"
    assert len(reveals) == 2


def test_a_generic_secret_is_not_exchange_credentials(trader: Any):
    client = APIClient()
    client.force_authenticate(trader)
    client.put("/api/v1/config/secrets/not/creds", {"kind": "generic", "value": "x"}, format="json")
    with pytest.raises(AuthFailed) as refused:
        CredentialStore().get(owner_id=trader.pk, key="not/creds")
    assert refused.value.details["reason"] == "wrong_kind"


def test_without_a_reachable_credentials_store_it_is_auth_failed(trader: Any, settings: Any):
    settings.DSTA_REMOTE_SERVICES = {"core": "http://127.0.0.1:9"}  # nothing listens there
    rpc.clear_client_cache()
    try:
        with pytest.raises(AuthFailed) as refused:
            CredentialStore().get(owner_id=trader.pk, key="exchange/binance/main")
    finally:
        settings.DSTA_REMOTE_SERVICES = {}
        rpc.clear_client_cache()
    assert refused.value.message == "credentials store not available"
    assert refused.value.code == "auth_failed"


# --- admin ----------------------------------------------------------------------------------------


@pytest.fixture
def browser(django_user_model: Any) -> Client:
    admin = django_user_model.objects.create_superuser(username=f"a-{uuid4().hex[:8]}", email="")
    client = Client()
    client.force_login(admin)
    return client


def test_venue_configs_are_edited_and_validated_in_the_admin(browser: Client):
    form = {
        "venue": "binance",
        "enabled": "on",
        "rate_limits": '{"request_weight": {"limit": 3000, "period": 60}}',
        "hosts": '["api1.binance.com", "api2.binance.com"]',
        "max_wait_seconds": "5",
        "breaker_failure_threshold": "4",
        "breaker_window_seconds": "30",
        "breaker_cooldown_seconds": "60",
        "timeout_ms": "8000",
        "log_requests": "on",
    }
    bad = browser.post(
        "/admin/exchange/exchangeconfig/add/",
        {**form, "rate_limits": '{"weight": {"limit": 1, "period": 1}}'},
    )
    assert bad.status_code == 200  # the form again, with its error
    assert "binance has no bucket" in bad.content.decode()
    assert browser.post("/admin/exchange/exchangeconfig/add/", form).status_code == 302
    config = ExchangeConfig.objects.get(venue="binance")
    assert config.rate_limits == {"request_weight": {"limit": 3000, "period": 60}}
    for url in (
        "/admin/exchange/exchangeconfig/",
        f"/admin/exchange/exchangeconfig/{config.pk}/change/",
        "/admin/exchange/exchangeconfig/status/",
        "/admin/exchange/liveaccount/",
        "/admin/exchange/exchangerequestlog/",
    ):
        response = browser.get(url)
        assert response.status_code == 200, url
    status_page = browser.get("/admin/exchange/exchangeconfig/status/").content.decode()
    assert "api1.binance.com" in status_page  # the admin's hosts, applied at once
    assert "3000.0 Binance request weight" in status_page


def test_live_accounts_show_the_secrets_name_never_a_value(browser: Client, trader: Any):
    store_secret(trader, "exchange/binance/main")
    account = live_account_create(
        owner_id=trader.pk, venue="binance", name="main", secret_key="exchange/binance/main"
    )
    page = browser.get(f"/admin/exchange/liveaccount/{account.id}/change/").content.decode()
    assert "exchange/binance/main" in page
    assert "s3cr3t-value" not in page
    assert "key-1234567" not in page
    assert browser.post("/admin/exchange/exchangerequestlog/add/").status_code == 403
