"""Demo market data so a fresh install has something to show.

When the venue answers (a TCP probe with a short timeout first, so an offline start does not
wait on ccxt's longer timeouts), recent real candles are downloaded through the exchange
domain's door: Binance spot BTC/USDT and ETH/USDT, 1m, the last 2 days. Otherwise a synthetic
sample is generated: geometric Brownian motion with a fixed seed, 1m bars for 7 days, stored
as venue ``demo`` with ``is_synthetic`` set, so it is labelled synthetic wherever it shows
(series list, candle responses, admin).

Idempotent: a synthetic sample already stored is left alone; a downloaded series is topped up
from its last candle (re-storing a candle changes nothing).
"""

import logging
import socket
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from domains.data.models import Series
from domains.data.services.store import candles_upsert
from domains.data.services.venue_feed import (
    PAGE_LIMIT,
    closed_in_range,
    fetch_page,
    wall_clock_ms,
)
from dsta.kernel.errors import DstaError
from dsta.kernel.market import DAY_MS, SeriesKey, Timeframe

logger = logging.getLogger(__name__)

DEMO_VENUE = "demo"
DOWNLOAD_VENUE = "binance"
DOWNLOAD_SYMBOLS = ("BTC/USDT", "ETH/USDT")
DOWNLOAD_DAYS = 2
# Where the download would go; probed first so that no internet costs seconds, not minutes.
DEFAULT_PROBE = ("api.binance.com", 443)
PROBE_TIMEOUT_SECONDS = 5.0
SYNTHETIC_DAYS = 7
# Start prices of the synthetic sample (round numbers of the right magnitude) and yearly
# volatility: crypto majors run at 50-80 % a year.
SYNTHETIC_MARKETS: dict[str, tuple[float, float]] = {
    "BTC/USDT": (60_000.0, 0.55),
    "ETH/USDT": (3_000.0, 0.70),
    "SOL/USDT": (150.0, 0.90),
}
TIMEFRAME = Timeframe("1m")
YEAR_MS = 365 * DAY_MS  # crypto trades every day of the year


@dataclass
class DemoReport:
    """What ``load_demo_data`` did: where the candles came from and how many were new."""

    source: str  # "download" or "synthetic"
    series: list[str] = field(default_factory=list)
    inserted: int = 0
    skipped: list[str] = field(default_factory=list)  # already present, left alone
    reason: str = ""  # why the synthetic sample was used

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "series": self.series,
            "inserted": self.inserted,
            "skipped": self.skipped,
            "reason": self.reason,
        }


def reachable(host: str, port: int, *, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """Whether a TCP connection to ``host:port`` opens within ``timeout`` seconds."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def synthetic_candles(
    *,
    start_ms: int,
    bars: int,
    start_price: float,
    seed: int,
    annual_volatility: float = 0.6,
    timeframe: Timeframe = TIMEFRAME,
    ticks_per_bar: int = 12,
) -> dict[str, np.ndarray]:
    """OHLCV bars of a geometric Brownian motion sampled ``ticks_per_bar`` times a bar.

    Each bar opens at the previous close and its high/low are the extremes of its ticks, so
    ``low <= open, close <= high`` holds by construction. Volume grows with the bar's range
    (busy markets move more); trade counts follow volume.
    """
    rng = np.random.default_rng(seed)
    steps = bars * ticks_per_bar
    dt = timeframe.ms / ticks_per_bar / YEAR_MS
    sigma = annual_volatility
    log_returns = rng.normal(-0.5 * sigma**2 * dt, sigma * np.sqrt(dt), steps)
    path = start_price * np.exp(np.concatenate(([0.0], np.cumsum(log_returns))))
    # Bar i spans ticks [i*k, (i+1)*k]: it opens on the last tick of the bar before.
    k = ticks_per_bar
    windows = np.lib.stride_tricks.sliding_window_view(path, k + 1)[::k][:bars]
    open_, close = windows[:, 0], windows[:, -1]
    high, low = windows.max(axis=1), windows.min(axis=1)
    typical = (high + low + close) / 3
    bar_range = (high - low) / open_
    # About $150k traded a minute on a quiet bar, more when the price moves.
    notional = rng.lognormal(np.log(150_000.0), 0.5, bars) * (1 + 200 * bar_range)
    volume = np.round(notional / typical, 6)
    return {
        "open_time": start_ms + timeframe.ms * np.arange(bars, dtype=np.int64),
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": volume,
        "quote_volume": volume * typical,
        "trades": np.maximum(1, rng.poisson(notional / 2_000.0)).astype(np.float64),
    }


def _seed(symbol: str) -> int:
    return zlib.crc32(symbol.encode())


def load_synthetic(*, now_ms: int | None = None, force: bool = False) -> DemoReport:
    """Store the synthetic sample (venue ``demo``), skipping series already there."""
    now = wall_clock_ms() if now_ms is None else now_ms
    end = TIMEFRAME.floor(now)  # the bar in progress is left out: every bar is closed
    bars = SYNTHETIC_DAYS * DAY_MS // TIMEFRAME.ms
    report = DemoReport(source="synthetic")
    for symbol, (price, volatility) in SYNTHETIC_MARKETS.items():
        series = SeriesKey.of(DEMO_VENUE, "spot", symbol, "trades", TIMEFRAME.code)
        report.series.append(str(series))
        stored = Series.objects.filter(**series.as_dict(), candle_count__gt=0).exists()
        if stored and not force:
            report.skipped.append(str(series))
            continue
        frame = synthetic_candles(
            start_ms=end - bars * TIMEFRAME.ms,
            bars=bars,
            start_price=price,
            seed=_seed(symbol),
            annual_volatility=volatility,
        )
        # strict: a generated bar the store would refuse is a bug here, not data to quarantine.
        result = candles_upsert(
            series=series,
            frame=frame,
            source="demo:synthetic",
            strict=True,
            now_ms=now,
            synthetic=True,
        )
        report.inserted += result.inserted
    return report


def download_recent(*, now_ms: int | None = None) -> DemoReport:
    """Download the last days of candles from the venue (topping up what is stored)."""
    now = wall_clock_ms() if now_ms is None else now_ms
    stop = TIMEFRAME.floor(now)
    report = DemoReport(source="download")
    for symbol in DOWNLOAD_SYMBOLS:
        series = SeriesKey.of(DOWNLOAD_VENUE, "spot", symbol, "trades", TIMEFRAME.code)
        report.series.append(str(series))
        last = (
            Series.objects.filter(**series.as_dict())
            .values_list("last_open_time", flat=True)
            .first()
        )
        cursor = stop - DOWNLOAD_DAYS * DAY_MS
        if last is not None:
            cursor = max(cursor, last + TIMEFRAME.ms)
        while cursor < stop:
            limit = int(min(PAGE_LIMIT, (stop - cursor) // TIMEFRAME.ms))
            page = fetch_page(series=series, since_ms=cursor, limit=limit)
            rows = closed_in_range(
                page, timeframe=TIMEFRAME, start_ms=cursor, stop_ms=stop, now_ms=now
            )
            if not len(rows):
                break
            result = candles_upsert(series=series, frame=rows, source="demo:download", now_ms=now)
            report.inserted += result.inserted
            cursor = int(rows.open_time[-1]) + TIMEFRAME.ms
    return report


def load_demo_data(
    *,
    now_ms: int | None = None,
    probe: tuple[str, int] | None = DEFAULT_PROBE,
    timeout: float = PROBE_TIMEOUT_SECONDS,
    force: bool = False,
) -> DemoReport:
    """Real recent candles when the venue is reachable, else the synthetic sample.

    ``probe`` is the address tried first (None: do not try, go synthetic at once). A download
    that fails part-way falls back to the synthetic sample too; what it stored stays (real
    candles, correctly labelled).
    """
    if probe is None:
        report = load_synthetic(now_ms=now_ms, force=force)
        report.reason = "download disabled"
        return report
    host, port = probe
    if not reachable(host, port, timeout=timeout):
        report = load_synthetic(now_ms=now_ms, force=force)
        report.reason = f"{host}:{port} is not reachable"
        return report
    try:
        return download_recent(now_ms=now_ms)
    except DstaError as exc:
        logger.warning("demo download failed (%s); using the synthetic sample", exc.code)
        report = load_synthetic(now_ms=now_ms, force=force)
        report.reason = f"download failed: {exc.message}"
        return report
