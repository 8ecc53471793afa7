"""``manage.py paper_account`` and ``manage.py exchange_markets``."""

from decimal import Decimal
from io import StringIO
from pathlib import Path
from uuid import UUID

import pytest
from django.core.management import CommandError, call_command

from domains.exchange.models import PaperAccount, PaperBalance

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_paper_account_create_sets_starting_balances_and_settings():
    account_id = UUID(
        run(
            "paper_account",
            "create",
            "--name",
            "bot-1",
            "--balance",
            "usdt=10000",
            "--balance",
            "BTC=0.5",
            "--latency-ms",
            "250",
            "--taker-fee",
            "0.0007",
        ).strip()
    )
    account = PaperAccount.objects.get(pk=account_id)
    assert account.starting_balances == {"USDT": "10000", "BTC": "0.5"}
    assert (account.latency_ms, account.taker_fee) == (250, Decimal("0.0007"))
    assert {b.asset: b.free for b in PaperBalance.objects.filter(account=account)} == {
        "USDT": Decimal(10000),
        "BTC": Decimal("0.5"),
    }
    assert "bot-1" in run("paper_account", "list")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--balance", "USDT"], "ASSET=AMOUNT"),
        (["--balance", "USDT=lots"], "not a number"),
        (["--balance", "USDT=-5"], "non-negative"),
        (["--taker-fee", "0.5"], "taker_fee"),
    ],
)
def test_paper_account_create_refuses_bad_input(args: list[str], message: str):
    with pytest.raises(CommandError, match=message):
        run("paper_account", "create", "--name", "bad", *args)
    assert not PaperAccount.objects.filter(name="bad").exists()


def test_exchange_markets_lists_the_paper_venue():
    out = run("exchange_markets", "paper", "--symbol", "BTC/USDT")
    assert "BTC/USDT" in out
    assert "0.00001" in out


def test_exchange_markets_reads_recorded_metadata_offline(shared_data: Path):
    path = shared_data / "exchange-responses" / "markets" / "binance.markets.json"
    out = run(
        "exchange_markets",
        "binance",
        "--offline",
        str(path),
        "--decimal-places",
        "--symbol",
        "LTC/USDT",
    )
    [row] = [line for line in out.splitlines() if line.startswith("LTC/USDT ")]
    assert row.split() == ["LTC/USDT", "LTCUSDT", "spot", "0.001", "0.01", "0.001", "5"]


def test_exchange_markets_says_clearly_when_a_venue_is_unreachable(monkeypatch: pytest.MonkeyPatch):
    # No network here: send ccxt to a closed local port, the way an unreachable venue looks.
    import ccxt

    original = ccxt.binance.__init__

    def unreachable(self, config=None):
        original(self, {**(config or {}), "timeout": 2000})
        self.urls["api"] = {k: "http://127.0.0.1:9/api/v3" for k in self.urls["api"]}

    monkeypatch.setattr(ccxt.binance, "__init__", unreachable)
    with pytest.raises(CommandError, match="venue_unavailable"):
        run("exchange_markets", "binance")
