"""``manage.py rotate_secrets``: re-encrypt every secret with the primary key.

Rotation: put a new key first in ``DSTA_SECRETS_KEYS`` (keep the old ones after it), restart,
run this command, then drop the old keys. Every secret reads throughout.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from domains.core.services.secrets import ROTATE_BATCH_SIZE, secrets_rotate
from dsta.kernel.errors import DstaError


class Command(BaseCommand):
    help = "Re-encrypt every secret with the first key of DSTA_SECRETS_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=ROTATE_BATCH_SIZE,
            help="secrets per transaction (default %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = secrets_rotate(batch_size=options["batch_size"])
        except DstaError as exc:
            raise CommandError(f"{exc.code}: {exc.message} {exc.details or ''}") from exc
        self.stdout.write(f"rotated {report.rotated} of {report.total} secrets to the primary key")
