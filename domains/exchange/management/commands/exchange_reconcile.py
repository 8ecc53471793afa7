"""``manage.py exchange_reconcile [--account UUID] [--venue V]``: resolve live orders now.

Runs what the every-minute job runs (``services/orders/reconciler.py``), for one account or
every enabled live account (of one venue), and prints each order it looked at and what came
of it. Exit codes: 0 done, 1 a venue could not be asked (those orders wait for the next run),
2 bad input (a malformed or unknown account, a venue that is not a live one).
"""

from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser

from domains.exchange.models import LiveAccount
from domains.exchange.services.accounts import LIVE_VENUES
from domains.exchange.services.orders.reconciler import (
    ReconcileReport,
    reconcile_account,
    reconcile_all,
)


class Command(BaseCommand):
    help = "Look up live orders of unknown outcome (and stale open ones) and record the answers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", help="a live account's id (default: every account)")
        parser.add_argument("--venue", help=f"only this venue ({', '.join(LIVE_VENUES)})")

    def handle(self, *args: Any, **options: Any) -> None:
        venue: str | None = options["venue"]
        if venue is not None and venue not in LIVE_VENUES:
            raise CommandError(
                f"invalid_input: --venue must be one of {', '.join(LIVE_VENUES)}", returncode=2
            )
        if options["account"]:
            account = _account(options["account"])
            if venue is not None and account.venue != venue:
                raise CommandError(
                    f"invalid_input: account {account.pk} is on {account.venue}, not {venue}",
                    returncode=2,
                )
            report = reconcile_account(account.pk)
        else:
            report = reconcile_all(venue=venue)
        self._print(report)
        if report.venue_failures:
            raise CommandError(
                "venue_unavailable: "
                + "; ".join(report.errors)
                + " (those orders are left for the next run)",
                returncode=1,
            )

    def _print(self, report: ReconcileReport) -> None:
        for order in report.orders:
            state = order.status or order.outcome
            fills = f", {order.fills} new fill(s)" if order.fills else ""
            note = f" ({order.note})" if order.note else ""
            self.stdout.write(
                f"{order.venue} {order.symbol} {order.client_order_id}: {order.result} -> "
                f"{state}{fills}{note}"
            )
        self.stdout.write(report.summary())


def _account(text: str) -> LiveAccount:
    try:
        account_id = UUID(text)
    except ValueError:
        raise CommandError(f"invalid_input: {text!r} is not an account id", returncode=2) from None
    account = LiveAccount.objects.filter(pk=account_id).first()
    if account is None:
        raise CommandError(f"unknown_account: no live account {account_id}", returncode=2)
    return account
