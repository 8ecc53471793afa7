"""``manage.py secret set|delete|list``: a user's encrypted secrets from the command line.

The value is never an argument (it would sit in the shell history and in ``ps``): ``set``
reads it from ``--file``, from standard input, or prompts without echo on a terminal. A
generic secret is the text (one trailing newline dropped); exchange credentials are a JSON
object ``{"api_key": ..., "secret": ..., "passphrase": ...}``.
"""

import getpass
import json
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from domains.core.api import EXCHANGE_CREDENTIAL_FIELDS, SECRET_KINDS
from domains.core.services.secrets import secret_delete, secret_set, secrets_of
from dsta.kernel.errors import DstaError


def user_id_of(name_or_id: str) -> int:
    """The id of the user named (or numbered) ``name_or_id``; CommandError if none."""
    users = get_user_model().objects
    user = users.filter(username=name_or_id).first()
    if user is None and name_or_id.isdigit():
        user = users.filter(pk=int(name_or_id)).first()
    if user is None:
        raise CommandError(f"no user {name_or_id!r}")
    return int(user.pk)


class Command(BaseCommand):
    help = "Set, delete or list a user's encrypted secrets (values never on the command line)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        write = actions.add_parser("set", help="create or replace a secret")
        write.add_argument("key", help="e.g. exchange/binance/main")
        write.add_argument("--user", "-u", required=True, help="owner: username or id")
        write.add_argument("--kind", "-k", choices=SECRET_KINDS, default="generic")
        write.add_argument(
            "--file", "-f", type=Path, default=None, help="read the value from this file"
        )
        write.add_argument(
            "--expected-version",
            type=int,
            default=None,
            help="refuse unless the secret is at this version (0: must not exist)",
        )

        delete = actions.add_parser("delete", help="delete a secret")
        delete.add_argument("key")
        delete.add_argument("--user", "-u", required=True)

        listing = actions.add_parser("list", help="a user's secrets (metadata only)")
        listing.add_argument("--user", "-u", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        owner_id = user_id_of(options["user"])
        try:
            if options["action"] == "set":
                self._set(owner_id, options)
            elif options["action"] == "delete":
                secret_delete(owner_id=owner_id, key=options["key"], source="core")
                self.stdout.write(f"deleted {options['key']}")
            else:
                for row in secrets_of(owner_id=owner_id):
                    read = row.last_read_at.isoformat() if row.last_read_at else "never"
                    self.stdout.write(
                        f"{row.key}\t{row.kind}\tv{row.version}\t{','.join(row.fields)}"
                        f"\tupdated {row.updated_at.isoformat()}\tread {read}"
                    )
        except DstaError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

    def _set(self, owner_id: int, options: dict[str, Any]) -> None:
        kind = options["kind"]
        value = self._read_value(kind, options["file"])
        written = secret_set(
            owner_id=owner_id,
            key=options["key"],
            kind=kind,
            value=value,
            expected_version=options["expected_version"],
            source="core",
        )
        verb = "created" if written.created else "replaced"
        self.stdout.write(f"{verb} {written.secret.key} (version {written.secret.version})")

    def _read_value(self, kind: str, file: Path | None) -> Any:
        if file is None and sys.stdin.isatty():
            return self._prompt(kind)
        try:
            text = file.read_text() if file is not None else sys.stdin.read()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
        text = text[:-1] if text.endswith("\n") else text
        if kind == "generic":
            return text
        try:
            return json.loads(text)
        except ValueError as exc:
            # The text is a secret: say where the JSON broke, never what it says.
            raise CommandError(
                "exchange credentials must be a JSON object "
                f'{{"api_key", "secret", "passphrase"}} (invalid JSON at line {exc.lineno})'
                if isinstance(exc, json.JSONDecodeError)
                else "exchange credentials must be a JSON object"
            ) from exc

    def _prompt(self, kind: str) -> Any:
        if kind == "generic":
            return getpass.getpass("value: ")
        fields = {name: getpass.getpass(f"{name}: ") for name in EXCHANGE_CREDENTIAL_FIELDS}
        return {name: text for name, text in fields.items() if text}
