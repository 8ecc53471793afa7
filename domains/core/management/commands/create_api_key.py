"""``manage.py create_api_key USERNAME --scopes read,trade --expires-in 30d``: print a new
API key once (only its hash is stored)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from domains.core.services.api_keys import api_key_create, parse_duration
from dsta.kernel.errors import DstaError
from dsta.kernel.principal import SCOPES


class Command(BaseCommand):
    help = "Create an API key for a user and print it (shown this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--scopes", required=True, help=f"comma-separated, among: {', '.join(SCOPES)}"
        )
        parser.add_argument("--expires-in", default="", help="30d, 12h, 90m, 2w (default: never)")
        parser.add_argument("--name", default="", help="what the key is for")

    def handle(self, *args: object, **options: object) -> None:
        user = get_user_model().objects.filter(username=str(options["username"])).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        scopes = [scope.strip() for scope in str(options["scopes"]).split(",") if scope.strip()]
        expires_at = None
        if options["expires_in"]:
            try:
                expires_at = timezone.now() + parse_duration(str(options["expires_in"]))
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        try:
            row, key = api_key_create(
                user_id=user.pk, scopes=scopes, name=str(options["name"]), expires_at=expires_at
            )
        except DstaError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        expiry = row.expires_at.isoformat() if row.expires_at else "never"
        self.stdout.write(
            f"API key {row.pk} for {user.get_username()}: scopes {','.join(row.scopes)}, "
            f"expires {expiry}"
        )
        self.stdout.write(key)
