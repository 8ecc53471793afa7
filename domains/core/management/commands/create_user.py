"""``manage.py create_user USERNAME --role trader``: create a user with a role.

The password comes from ``--password-file`` (its first line), else is typed at a prompt
(twice), else with ``--generate-password`` is generated and printed once. It goes through the
password validators and is hashed with Argon2id.
"""

import getpass
import secrets
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from domains.core.services.users import user_create
from dsta.kernel.errors import DstaError
from dsta.kernel.principal import ROLES


class Command(BaseCommand):
    help = "Create a user holding one role (viewer, analyst, trader, admin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--email", default="")
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--password-file", type=Path, help="read the password from a file")
        source.add_argument(
            "--generate-password",
            action="store_true",
            help="generate a password and print it once",
        )

    def _password(self, options: dict[str, object]) -> tuple[str, bool]:
        path = options.get("password_file")
        if isinstance(path, Path):
            try:
                lines = path.read_text().splitlines()
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
            if not lines or not lines[0]:
                raise CommandError(f"{path} holds no password on its first line")
            return lines[0], False
        if options.get("generate_password"):
            return secrets.token_urlsafe(18), True
        if not sys.stdin.isatty():
            raise CommandError(
                "no terminal to prompt on: use --password-file or --generate-password"
            )
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("the passwords differ")
        return first, False

    def handle(self, *args: object, **options: object) -> None:
        password, generated = self._password(options)
        try:
            user = user_create(
                username=str(options["username"]),
                role=str(options["role"]),
                password=password,
                email=str(options["email"]),
            )
        except DstaError as exc:
            problems = (
                (exc.details or {}).get("problems") if isinstance(exc.details, dict) else None
            )
            suffix = f": {'; '.join(map(str, problems))}" if problems else ""
            raise CommandError(f"{exc.code}: {exc.message}{suffix}") from exc
        self.stdout.write(f"created user {user.get_username()} (id {user.pk}) as {options['role']}")
        if generated:
            # Printed once, to the terminal that asked for it; never logged.
            self.stdout.write(f"password: {password}")
