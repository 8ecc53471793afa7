"""``manage.py consume_events``: run this process's subscribers against Redis or RabbitMQ."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dsta.kernel.bus import consuming
from dsta.kernel.bus.conf import bus_settings
from dsta.kernel.bus.management.imports import add_import_argument, import_modules
from dsta.kernel.bus.management.signals import stop_on_signals


class Command(BaseCommand):
    help = (
        "Consume events from the broker (BUS_URL redis://... or amqp://...) for the handlers "
        "subscribed in this process, until SIGTERM/SIGINT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--subscriber",
            dest="subscribers",
            action="append",
            default=[],
            help="Only this subscriber (repeatable; default: all subscribed here).",
        )
        parser.add_argument("--consumer-name", default=None, help="Default: host-pid.")
        parser.add_argument(
            "--once", action="store_true", help="Consume what is waiting, then exit."
        )
        parser.add_argument(
            "--no-transient", action="store_true", help="Do not listen for transient events."
        )
        add_import_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        import_modules(options["imports"])
        kind = bus_settings().kind
        if kind == "inprocess":
            raise CommandError(
                "the in-process bus has no consumers (its relay runs the handlers); "
                "set BUS_URL to redis://... or amqp://..."
            )
        subscribers = consuming.durable_subscribers(options["subscribers"] or None)
        unknown = set(options["subscribers"]) - set(subscribers)
        if unknown:
            raise CommandError(f"no durable subscriptions here for: {', '.join(sorted(unknown))}")
        if options["once"]:
            total = consuming.consume_available(subscribers, consumer_name=options["consumer_name"])
            self.stdout.write(f"consumed {total} message(s)")
            return
        stop = stop_on_signals()
        threads = consuming.start(
            stop,
            subscribers=subscribers,
            consumer_name=options["consumer_name"],
            transient=not options["no_transient"],
        )
        self.stdout.write(f"consuming from {kind} for: {', '.join(subscribers) or '(none)'}")
        self.stdout.flush()
        while not stop.wait(0.5):
            pass
        for thread in threads:
            thread.join(timeout=10)
        self.stdout.write("consumers stopped")
