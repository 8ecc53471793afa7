"""``manage.py exchange_account_stream (--account UUID | --all)``: keep live accounts'
private streams open and feed their order updates and fills to the order ledger, until
interrupted.

``--account`` streams one live account (exit 2 for an unknown, paper or disabled account; 1
when the venue refuses its credentials). ``--all`` supervises every enabled live account,
picking up accounts added, disabled or re-keyed every ``--poll-seconds``.
"""

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from domains.exchange.api import AuthFailed
from domains.exchange.services.accounts import account_get
from domains.exchange.services.user_streams import AccountStreams, AccountStreamSupervisor
from dsta.kernel.errors import DstaError


class Command(BaseCommand):
    help = "Stream live accounts' order updates and fills from their venues into the ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--account", help="the live account's id (UUID)")
        which.add_argument("--all", action="store_true", help="every enabled live account")
        parser.add_argument(
            "--poll-seconds",
            type=float,
            default=30.0,
            help="with --all: how often to look for accounts added or disabled",
        )
        parser.add_argument(
            "--retry-seconds",
            type=float,
            default=300.0,
            help="with --all: how long a stream that ended waits before it is started again",
        )
        parser.add_argument("--url", help="with --account: the venue's websocket URL")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            if options["url"]:
                raise CommandError("--url applies to --account only", returncode=2)
            self._all(options["poll_seconds"], options["retry_seconds"])
        else:
            self._one(options["account"], options["url"])

    def _one(self, account_id: str, url: str | None) -> None:
        ref = account_get(account_id)
        if ref is None:
            raise CommandError(f"unknown_account: no exchange account {account_id}", returncode=2)
        if ref.kind != "live":
            raise CommandError(
                f"account {ref.id} is a paper account: only live accounts have a venue stream",
                returncode=2,
            )
        if not ref.enabled:
            raise CommandError(f"live account {ref.id} is disabled", returncode=2)
        try:
            stream = AccountStreams(url=url)(ref) if url else AccountStreams()(ref)
        except DstaError as error:
            raise CommandError(f"{error.code}: {error.message}", returncode=2) from error
        self.stdout.write(
            f"streaming {ref.venue} account {ref.name} ({ref.id}) from {stream.url} (Ctrl-C stops)"
        )
        try:
            asyncio.run(stream.run())
        except AuthFailed as error:
            raise CommandError(f"{error.code}: {error.message}", returncode=1) from error
        except KeyboardInterrupt:
            self.stdout.write("stopped")

    def _all(self, poll_seconds: float, retry_seconds: float) -> None:
        if poll_seconds <= 0 or retry_seconds < 0:
            raise CommandError("--poll-seconds must be > 0, --retry-seconds >= 0", returncode=2)
        supervisor = AccountStreamSupervisor(poll_interval=poll_seconds, retry_after=retry_seconds)
        self.stdout.write(
            f"streaming every enabled live account (re-read every {poll_seconds:g}s; Ctrl-C stops)"
        )
        try:
            asyncio.run(supervisor.run())
        except KeyboardInterrupt:
            self.stdout.write("stopped")
