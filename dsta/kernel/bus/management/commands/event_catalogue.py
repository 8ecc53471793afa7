"""``manage.py event_catalogue``: write (or check) the Markdown catalogue of every event."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from dsta.kernel.bus import catalogue


class Command(BaseCommand):
    help = "Generate the event catalogue (names, versions, delivery, payload schemas)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            default=str(Path(settings.BASE_DIR) / "docs" / "events.md"),
            help="File to write; '-' prints to stdout (default: docs/events.md).",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Write nothing; exit 1 if the file differs from what would be generated.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        text = catalogue.render(catalogue.discover())
        output = options["output"]
        if output == "-":
            self.stdout.write(text, ending="")
            return
        path = Path(output)
        if options["check"]:
            current = path.read_text() if path.exists() else None
            if current != text:
                self.stderr.write(
                    f"{path} is stale: run `manage.py event_catalogue` and commit the result"
                )
                raise SystemExit(1)
            self.stdout.write(f"{path} is up to date")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.stdout.write(f"wrote {path}")
