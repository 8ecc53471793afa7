"""``manage.py import_candles PATH... --venue binance --symbol BTC/USDT --timeframe 1m``.

Each file is stored in its own transaction (all of it or nothing); re-importing a file changes
nothing. Strict by default: a file with any bad row is refused, with the rows listed; with
``--lenient`` bad rows are quarantined (see the admin) and the rest stored.
"""

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from domains.data.services.importers import FORMATS, TIME_UNITS, ImportResult, import_candles_file
from domains.data.services.validation import iso
from dsta.kernel.errors import DstaError, InvalidInput
from dsta.kernel.market import MarketType, PriceType, SeriesKey

MAX_PRINTED_PROBLEMS = 20


def parse_mapping(items: list[str]) -> dict[str, str]:
    """``["open=o,high=h", "open_time=ts"]`` -> ``{"open": "o", "high": "h", "open_time": "ts"}``"""
    mapping: dict[str, str] = {}
    for item in items:
        for pair in filter(None, (part.strip() for part in item.split(","))):
            field, sep, column = pair.partition("=")
            if not sep or not field.strip() or not column.strip():
                raise InvalidInput(f"--map wants FIELD=COLUMN pairs, got {pair!r}")
            mapping[field.strip()] = column.strip()
    return mapping


class Command(BaseCommand):
    help = "Import candle files (Binance Vision klines, CSV, Parquet, freqtrade JSON)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="candle files")
        parser.add_argument("--venue", required=True, help="ccxt exchange id, e.g. binance")
        parser.add_argument("--symbol", required=True, help="ccxt symbol, e.g. BTC/USDT")
        parser.add_argument("--timeframe", required=True, help="e.g. 1m, 1h, 1d")
        parser.add_argument("--market-type", default="spot", choices=[m.value for m in MarketType])
        parser.add_argument("--price-type", default="trades", choices=[p.value for p in PriceType])
        parser.add_argument("--format", default="auto", choices=FORMATS, dest="fmt")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            help="column mapping FIELD=COLUMN[,...], e.g. open_time=ts,open=o",
        )
        parser.add_argument("--time-unit", default="auto", choices=TIME_UNITS)
        parser.add_argument(
            "--lenient",
            action="store_true",
            help="quarantine bad rows and store the rest (default: refuse a file with bad rows)",
        )
        parser.add_argument(
            "--snap-ms",
            type=int,
            default=0,
            help="move open times this close to the timeframe grid onto it (jittery stamps)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            series = SeriesKey.of(
                options["venue"],
                options["market_type"],
                options["symbol"],
                options["price_type"],
                options["timeframe"],
            )
            mapping = parse_mapping(options["map"])
        except DstaError as exc:
            raise CommandError(exc.message) from exc
        for number, path in enumerate(options["paths"], start=1):
            try:
                result = self._import_one(Path(path), series, mapping, options)
            except DstaError as exc:
                raise CommandError(self._describe_error(exc, number)) from exc
            self._summarise(result)

    def _import_one(
        self, path: Path, series: SeriesKey, mapping: dict[str, str], options: dict[str, Any]
    ) -> ImportResult:
        bar: tqdm[Any] | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if options["no_progress"]:
                return
            if bar is None:
                # The raw stream: Django's OutputWrapper would end each redraw with a newline.
                stream = getattr(self.stderr, "_out", sys.stderr)
                bar = tqdm(total=total, unit="candles", desc=path.name, file=stream)
            bar.update(done - bar.n)

        try:
            return import_candles_file(
                path=path,
                series=series,
                fmt=options["fmt"],
                mapping=mapping or None,
                time_unit=options["time_unit"],
                strict=not options["lenient"],
                snap_ms=options["snap_ms"],
                progress=progress,
            )
        finally:
            if bar is not None:
                bar.close()

    def _describe_error(self, exc: DstaError, number: int) -> str:
        lines = [exc.message]
        details = exc.details if isinstance(exc.details, dict) else {}
        for row in details.get("rows", [])[:MAX_PRINTED_PROBLEMS]:
            lines.append(f"  row {row['row']}: {'; '.join(row['reasons'])}")
        hidden = details.get("bad_rows", 0) - min(
            len(details.get("rows", [])), MAX_PRINTED_PROBLEMS
        )
        if hidden > 0:
            lines.append(f"  ... and {hidden} more")
        if any("grid" in reason for row in details.get("rows", []) for reason in row["reasons"]):
            lines.append("(--snap-ms N moves open times at most N ms off the grid onto it)")
        if number > 1:
            lines.append(f"(the {number - 1} file(s) before it were imported)")
        return "\n".join(lines)

    def _summarise(self, result: ImportResult) -> None:
        upsert = result.upsert
        span = (
            f"{iso(result.first_open_time)} .. {iso(result.last_open_time)}"
            if result.first_open_time is not None and result.last_open_time is not None
            else "-"
        )
        self.stdout.write(
            f"{Path(result.path).name} [{result.format}]: {result.rows} rows, {span}: "
            f"{upsert.inserted} inserted, {upsert.updated} updated, {upsert.unchanged} unchanged, "
            f"{upsert.duplicates_collapsed} duplicates collapsed, {upsert.quarantined} quarantined"
        )
        for problem in result.problems[:MAX_PRINTED_PROBLEMS]:
            self.stdout.write(f"  quarantined row {problem.row}: {'; '.join(problem.reasons)}")
