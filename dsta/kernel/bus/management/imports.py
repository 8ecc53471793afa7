"""``--import MODULE`` for the bus commands: load modules that subscribe handlers."""

import importlib
from collections.abc import Iterable

from django.core.management.base import CommandError, CommandParser


def add_import_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="Import MODULE first (it subscribes handlers); repeatable.",
    )


def import_modules(names: Iterable[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise CommandError(f"cannot import {name!r}: {exc}") from exc
