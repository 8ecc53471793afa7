"""``manage.py paper_account create|list``: open paper accounts and see their balances.

    manage.py paper_account create --name bot-1 --balance USDT=10000 --balance BTC=0.5 \\
        [--maker-fee 0.001] [--taker-fee 0.001] [--latency-ms 0] [--slippage-bps 0] [--owner-id 7]
"""

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from domains.exchange.api import Venue
from domains.exchange.models import PaperAccount
from domains.exchange.selectors import paper_balances
from domains.exchange.services.paper.service import PaperExchange
from domains.exchange.services.paper.state import PaperConfig
from dsta.kernel.errors import DstaError


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CommandError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise CommandError(f"not a finite number: {text!r}")
    return value


class Command(BaseCommand):
    help = "Create paper accounts (starting balances fixed at creation) or list them."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="open a paper account")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--balance", action="append", default=[], metavar="ASSET=AMOUNT", help="repeatable"
        )
        create.add_argument("--venue", default=Venue.PAPER.value, choices=[v.value for v in Venue])
        create.add_argument("--owner-id", type=int)
        create.add_argument("--maker-fee", default="0.001")
        create.add_argument("--taker-fee", default="0.001")
        create.add_argument("--latency-ms", type=int, default=0)
        create.add_argument("--slippage-bps", default="0")
        actions.add_parser("list", help="list paper accounts with their balances")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            self._create(options)
        else:
            self._list()

    def _create(self, options: dict[str, Any]) -> None:
        balances: dict[str, Decimal] = {}
        for item in options["balance"]:
            asset, sep, amount = item.partition("=")
            if not sep:
                raise CommandError(f"--balance takes ASSET=AMOUNT, not {item!r}")
            balances[asset.strip().upper()] = _decimal(amount)
        if options["latency_ms"] < 0:
            raise CommandError("--latency-ms must not be negative")
        try:
            config = PaperConfig(
                maker_fee=_decimal(options["maker_fee"]),
                taker_fee=_decimal(options["taker_fee"]),
                latency=timedelta(milliseconds=options["latency_ms"]),
                slippage_bps=_decimal(options["slippage_bps"]),
            )
            account_id = PaperExchange().create_account(
                name=options["name"],
                balances=balances,
                owner_id=options["owner_id"],
                venue=options["venue"],
                config=config,
            )
        except DstaError as error:
            raise CommandError(f"{error.code}: {error.message}") from error
        self.stdout.write(str(account_id))

    def _list(self) -> None:
        from django.utils import timezone

        for account in PaperAccount.objects.order_by("created_at"):
            held = paper_balances(account=account, at=timezone.now()).balances
            summary = ", ".join(f"{b.asset} {b.free}+{b.locked}" for b in held) or "empty"
            self.stdout.write(f"{account.pk}  {account.name}  ({account.venue})  {summary}")
