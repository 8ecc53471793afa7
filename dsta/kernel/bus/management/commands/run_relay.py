"""``manage.py run_relay``: deliver outbox rows (retries, crash recovery, broker hand-off)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from dsta.kernel.bus import relay
from dsta.kernel.bus.conf import bus_settings
from dsta.kernel.bus.management.imports import add_import_argument, import_modules
from dsta.kernel.bus.management.signals import stop_on_signals


class Command(BaseCommand):
    help = (
        "Relay pending outbox rows to the bus transport until stopped (SIGTERM/SIGINT). "
        "With the in-process transport this process runs the subscribed handlers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Relay what is due, then exit.")
        parser.add_argument(
            "--interval", type=float, default=None, help="Seconds to wait when idle."
        )
        parser.add_argument("--batch-size", type=int, default=None, help="Rows per claim.")
        parser.add_argument(
            "--lease-seconds",
            type=float,
            default=None,
            help="How long claimed rows stay invisible to other relays (crash recovery delay).",
        )
        add_import_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        import_modules(options["imports"])
        if options["once"]:
            total = 0
            while processed := relay.relay_once(
                limit=options["batch_size"], lease_seconds=options["lease_seconds"]
            ):
                total += processed
            self.stdout.write(f"relayed {total} outbox row(s)")
            return
        stop = stop_on_signals()
        self.stdout.write(f"relay running ({bus_settings().kind} transport)")
        self.stdout.flush()
        relay.run(
            stop,
            interval=options["interval"],
            limit=options["batch_size"],
            lease_seconds=options["lease_seconds"],
        )
        self.stdout.write("relay stopped")
