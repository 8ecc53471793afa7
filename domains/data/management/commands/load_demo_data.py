"""``manage.py load_demo_data``: something to look at on a fresh install (``./run serve``).

Downloads the last 2 days of Binance BTC/USDT and ETH/USDT 1m candles when the venue answers
within ``--timeout`` seconds; otherwise stores a synthetic sample (venue ``demo``, flagged
synthetic everywhere). Idempotent: run it as often as you like.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from domains.data.services.demo import DEFAULT_PROBE, PROBE_TIMEOUT_SECONDS, load_demo_data
from dsta.kernel.errors import DstaError


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise CommandError(f"--probe wants HOST:PORT, got {text!r}")
    return host, int(port)


class Command(BaseCommand):
    help = "Load demo candles: recent real ones when online, a labelled synthetic sample if not."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--offline", action="store_true", help="do not try to download; synthetic sample"
        )
        parser.add_argument(
            "--probe",
            default=f"{DEFAULT_PROBE[0]}:{DEFAULT_PROBE[1]}",
            help="HOST:PORT tried first to decide whether to download",
        )
        parser.add_argument("--timeout", type=float, default=PROBE_TIMEOUT_SECONDS)
        parser.add_argument("--force", action="store_true", help="re-generate the synthetic sample")

    def handle(self, *args: Any, **options: Any) -> None:
        probe = None if options["offline"] else _address(options["probe"])
        try:
            report = load_demo_data(probe=probe, timeout=options["timeout"], force=options["force"])
        except DstaError as exc:
            raise CommandError(exc.message) from exc
        label = "synthetic sample" if report.source == "synthetic" else "downloaded"
        why = f" ({report.reason})" if report.reason else ""
        self.stdout.write(f"demo data: {label}{why}: {report.inserted} new candle(s)")
        for series in report.series:
            note = " (already there)" if series in report.skipped else ""
            self.stdout.write(f"  {series}{note}")
