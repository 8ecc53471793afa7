"""``manage.py config list|get|set|history|sync``: configuration from the command line.

Goes through ``ConfigApi`` (the registry), so it works the same against a remote core.
"""

import dataclasses
import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from domains.core.api import (
    DEFAULT_ENVIRONMENT,
    HISTORY_MAX_LIMIT,
    config_api,
    declared_config_keys,
)
from dsta.kernel.errors import DstaError


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _dto_json(dto: Any) -> str:
    return json.dumps(dataclasses.asdict(dto), indent=2, sort_keys=True, default=str)


class Command(BaseCommand):
    help = "Read and write configuration keys (list, get, set, history, sync)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        listing = actions.add_parser("list", help="every key with its effective value")
        listing.add_argument("--environment", "-e", default=DEFAULT_ENVIRONMENT)

        get = actions.add_parser("get", help="the effective value of one key (JSON)")
        get.add_argument("key")
        get.add_argument("--environment", "-e", default=DEFAULT_ENVIRONMENT)

        write = actions.add_parser("set", help="write a new version of one key")
        write.add_argument("key")
        write.add_argument(
            "value", help="the value as JSON: true, 3, '\"text\"' (strings need quotes)"
        )
        write.add_argument("--environment", "-e", default=DEFAULT_ENVIRONMENT)
        write.add_argument("--reason", "-r", default="", help="why (kept in the history)")
        write.add_argument(
            "--expected-version",
            type=int,
            default=None,
            help="refuse the write unless the environment is at this version (0: none yet)",
        )
        write.add_argument("--user", "-u", default=None, help="username recorded as the writer")

        history = actions.add_parser("history", help="the versions of one key, newest first")
        history.add_argument("key")
        history.add_argument("--environment", "-e", default=DEFAULT_ENVIRONMENT)
        history.add_argument("--limit", "-n", type=int, default=20)

        actions.add_parser("sync", help="store every key the domains declare in code")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            getattr(self, f"_{action}")(**options)
        except DstaError as exc:
            details = f"\n{_json(exc.details)}" if exc.details else ""
            raise CommandError(f"{exc.code}: {exc.message}{details}") from exc

    def _list(self, *, environment: str, **_: Any) -> None:
        api = config_api()
        for info in api.list_keys():
            entry = api.get(key=info.key, environment=environment)
            flag = " [flag]" if info.is_feature_flag else ""
            self.stdout.write(
                f"{info.key}{flag} = {_json(entry.value)}  "
                f"(v{entry.version}, {entry.source}, {environment})"
            )

    def _get(self, *, key: str, environment: str, **_: Any) -> None:
        self.stdout.write(_dto_json(config_api().get(key=key, environment=environment)))

    def _set(
        self,
        *,
        key: str,
        value: str,
        environment: str,
        reason: str,
        expected_version: int | None,
        user: str | None,
        **_: Any,
    ) -> None:
        try:
            decoded = json.loads(value)
        except ValueError as exc:
            raise CommandError(
                f"VALUE must be JSON ({exc}); write strings with quotes, e.g. '\"text\"'"
            ) from exc
        actor_id = None
        if user is not None:
            found = get_user_model().objects.filter(username=user).first()
            if found is None:
                raise CommandError(f"no user named {user!r}")
            actor_id = found.pk
        entry = config_api().set(
            key=key,
            value=decoded,
            environment=environment,
            actor_id=actor_id,
            reason=reason,
            expected_version=expected_version,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{entry.key} = {_json(entry.value)} (v{entry.version}, {entry.environment})"
            )
        )

    def _history(self, *, key: str, environment: str, limit: int, **_: Any) -> None:
        if not 1 <= limit <= HISTORY_MAX_LIMIT:
            raise CommandError(f"--limit must be from 1 to {HISTORY_MAX_LIMIT}")
        versions = config_api().history(key=key, environment=environment, limit=limit)
        if not versions:
            self.stdout.write(f"{key} has no versions in {environment!r} (it reads its fallback)")
        for version in versions:
            writer = f"user {version.changed_by}" if version.changed_by is not None else "-"
            reason = f"  # {version.reason}" if version.reason else ""
            self.stdout.write(
                f"v{version.version}  {version.created_at.isoformat()}  {writer}  "
                f"{_json(version.value)}{reason}"
            )

    def _sync(self, **_: Any) -> None:
        api = config_api()
        definitions = declared_config_keys()
        for definition in definitions:
            api.define_key(definition=definition)
        self.stdout.write(self.style.SUCCESS(f"{len(definitions)} declared config keys synced"))
