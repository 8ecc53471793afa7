"""``manage.py send_test_notification --user U --channel email|telegram|webhook|in_app``.

Sends one critical notification (critical ignores quiet hours) on one channel and makes the
first attempt here, so the outcome is printed at once. A transient failure is left to the
worker's retries (and the sweeper, with the in-process broker).
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from domains.core.api import CHANNELS
from domains.core.management.commands.secret import user_id_of
from domains.core.models import DeliveryLog
from domains.core.services.notification_delivery import delivery_attempt
from domains.core.services.notifications import notification_send
from domains.core.tasks import deliver_notification
from dsta.kernel.errors import DstaError

# "inapp" is accepted for "in_app".
ALIASES = {"inapp": "in_app"}


class Command(BaseCommand):
    help = "Send a test notification to a user on one channel and report the outcome."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", "-u", required=True, help="username or id")
        parser.add_argument(
            "--channel", "-c", required=True, choices=[*CHANNELS, *ALIASES], help="the channel"
        )
        parser.add_argument("--message", "-m", default="This is a test notification from DSTA.")

    def handle(self, *args: Any, **options: Any) -> None:
        owner_id = user_id_of(options["user"])
        channel = ALIASES.get(options["channel"], options["channel"])
        try:
            result = notification_send(
                owner_id=owner_id,
                priority="critical",
                subject="DSTA test notification",
                body=options["message"],
                channels=[channel],
                source="command",
                dispatch=False,
            )
        except DstaError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        log = DeliveryLog.objects.get(notification=result.notification, channel=channel)
        if log.status == DeliveryLog.Status.SKIPPED:
            raise CommandError(f"{channel}: not sent: {log.last_error}")
        outcome = delivery_attempt(delivery_id=log.pk)
        log.refresh_from_db()
        if outcome.retry_in is not None:
            deliver_notification.send_with_options(
                kwargs={"delivery_id": log.pk}, delay=int(outcome.retry_in * 1000)
            )
            due = log.next_retry_at or timezone.now()
            raise CommandError(
                f"{channel}: attempt {log.attempts} failed ({log.last_error}); the worker "
                f"retries at {due.isoformat()}"
            )
        if log.status != DeliveryLog.Status.SENT:
            raise CommandError(f"{channel}: {log.status}: {log.last_error}")
        self.stdout.write(
            f"{channel}: sent to {log.destination} (notification {log.notification_id})"
        )
