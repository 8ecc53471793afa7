"""The reconciler's other doors: ``manage.py exchange_reconcile``, the every-minute actor, the
unresolved-orders gauge on /metrics, and the read-only admin of the ledger."""

from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from domains.exchange.api import ExchangeApi
from domains.exchange.models import LiveFill, LiveOrder
from domains.exchange.services.orders.metrics import UnresolvedOrdersCollector
from domains.exchange.services.orders.reconciler import ReconcileSettings
from domains.exchange.tasks import reconcile_orders
from domains.exchange.tests.fake_venue import CONNECTION_REFUSED
from domains.exchange.tests.services.orders.conftest import LedgerRig, limit_buy
from domains.exchange.tests.services.orders.test_reconciler import place_with_unknown_outcome
from dsta.kernel import rpc
from dsta.kernel.jobs.api import registered_schedules

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered(ledger_rig: LedgerRig) -> Iterator[LedgerRig]:
    """The rig's gateway as this process's ExchangeApi (what the command and actor use)."""
    original = rpc.resolve(ExchangeApi)
    rpc.register(ExchangeApi, ledger_rig.gateway)
    try:
        yield ledger_rig
    finally:
        rpc.register(ExchangeApi, original)


def test_the_command_prints_what_it_resolved(registered: LedgerRig):
    cid = place_with_unknown_outcome(registered, arrives=True)
    out = StringIO()

    call_command("exchange_reconcile", "--account", str(registered.account.pk), stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == f"binance BTC/USDT {cid}: resolved -> open"
    assert lines[-1].startswith("1 account(s), 1 order(s) checked: 1 resolved")
    assert LiveOrder.objects.get(client_order_id=cid).status == "open"


def test_the_command_exits_1_while_a_venue_cannot_be_asked(registered: LedgerRig):
    cid = place_with_unknown_outcome(registered, arrives=True)
    registered.venue.fake.fail_next(CONNECTION_REFUSED)  # the breaker's probe
    out = StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("exchange_reconcile", "--venue", "binance", stdout=out)

    assert failed.value.returncode == 1
    assert str(failed.value).startswith("venue_unavailable: binance")
    assert f"{cid}: venue_unavailable -> unknown" in out.getvalue()
    assert LiveOrder.objects.get(client_order_id=cid).lookup_attempts == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--account", "not-a-uuid"], "invalid_input"),
        (["--account", "5b0c6f5e-33b4-4c3b-9a55-0e0b9d6a4b8e"], "unknown_account"),
        (["--venue", "kraken"], "invalid_input"),
        (["--venue", "paper"], "invalid_input"),
    ],
)
def test_the_command_refuses_bad_input_with_exit_code_2(arguments: list[str], message: str):
    with pytest.raises(CommandError) as failed:
        call_command("exchange_reconcile", *arguments)
    assert failed.value.returncode == 2
    assert str(failed.value).startswith(message)


def test_the_command_refuses_an_account_of_another_venue(live_account: Any):
    with pytest.raises(CommandError) as failed:
        call_command("exchange_reconcile", "--account", str(live_account.pk), "--venue", "htx")
    assert (failed.value.returncode, str(failed.value)[:13]) == (2, "invalid_input")


def test_the_actor_runs_every_minute_without_retries_and_reconciles(registered: LedgerRig):
    [entry] = [e for e in registered_schedules() if e.name == "exchange.reconcile_orders"]
    assert entry.cron == "* * * * *"
    assert reconcile_orders.options["max_retries"] == 0
    assert 0 < reconcile_orders.options["time_limit"] <= 5 * 60_000
    cid = place_with_unknown_outcome(registered, arrives=True)

    reconcile_orders.fn()

    assert LiveOrder.objects.get(client_order_id=cid).status == "open"


def test_unresolved_orders_are_counted_for_metrics(ledger_rig: LedgerRig):
    place_with_unknown_outcome(ledger_rig, arrives=False)
    ledger_rig.place(limit_buy())  # acknowledged: not counted

    [family] = list(UnresolvedOrdersCollector().collect())

    assert [(s.labels, s.value) for s in family.samples] == [
        ({"venue": "binance", "outcome": "unknown"}, 1.0)
    ]


def test_the_ledger_admin_shows_orders_and_fills_read_only(
    ledger_rig: LedgerRig, django_user_model: Any
):
    ack = ledger_rig.place(limit_buy())
    ledger_rig.sim.fill(ack.client_order_id, "0.001")
    ledger_rig.reconcile(after=timedelta(minutes=10))
    order = LiveOrder.objects.get(client_order_id=ack.client_order_id)
    fill = LiveFill.objects.get(order=order)
    browser = Client()
    browser.force_login(django_user_model.objects.create_superuser(username="ledger-admin"))

    for url in (
        "/admin/exchange/liveorder/",
        "/admin/exchange/liveorder/?outcome__exact=acknowledged&status__exact=filled",
        f"/admin/exchange/liveorder/{order.pk}/change/",
        "/admin/exchange/livefill/",
        f"/admin/exchange/livefill/{fill.pk}/change/",
    ):
        assert browser.get(url).status_code == 200, url
    assert browser.get("/admin/exchange/liveorder/add/").status_code == 403
    changed = browser.post(f"/admin/exchange/liveorder/{order.pk}/change/", {"filled": "5"})
    assert changed.status_code == 403
    order.refresh_from_db()
    assert order.filled == fill.amount


def test_the_reconciler_reads_its_settings(settings: Any):
    settings.EXCHANGE_RECONCILE_LOOKUPS = 5
    settings.EXCHANGE_RECONCILE_MIN_AGE_SECONDS = 90
    read = ReconcileSettings.from_settings()
    assert (read.lookups, read.min_age, read.grace) == (
        5,
        timedelta(seconds=90),
        timedelta(seconds=10),
    )
    settings.EXCHANGE_RECONCILE_LOOKUPS = 0
    with pytest.raises(ValueError, match="at least 1"):
        ReconcileSettings.from_settings()
