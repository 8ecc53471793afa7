"""The door of the data domain: ``MarketDataApi`` (rpc service ``data.market``) and its DTOs.

Other domains (trading, ml) read stored candles, the list of series and their gaps through
:func:`market_data_api`. Candles travel column-wise (one list per field), so a caller turns them
into numpy arrays in one step (:meth:`CandleSeries.as_arrays`) and the remote binding sends one
JSON array per column instead of one object per bar.

A pure contract: no Django, no ORM, no I/O. Its type hints are the wire contract of the remote
binding, which is why it does not use ``from __future__ import annotations``.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from dsta.kernel import rpc
from dsta.kernel.errors import NotFound

# The most bars one read returns (the REST endpoint's ``limit`` has the same ceiling).
MAX_CANDLES_PER_READ = 5000


class UnknownSeries(NotFound):
    """No candles are stored for that series (and none it could be resampled from)."""

    code = "unknown_series"


@dataclass(frozen=True)
class SeriesSummary:
    """A stored series and its coverage. Times are bar open times (UTC)."""

    venue: str
    market_type: str
    symbol: str  # ccxt unified: BTC/USDT, BTC/USDT:USDT
    url_symbol: str  # the URL form: BTC-USDT, BTC-USDT:USDT
    price_type: str
    timeframe: str
    first_open_time: datetime | None
    last_open_time: datetime | None
    candle_count: int
    expected_count: int  # bars a gap-free series would hold between first and last
    coverage: float  # candle_count / expected_count (1.0 = no holes)
    open_gaps: int  # recorded gaps still marked missing
    synthetic: bool  # some or all of its candles were made up (demo sample, synthetic fill)
    keep_up: bool  # new closed candles are fetched from the venue every minute


@dataclass(frozen=True)
class CandleSeries:
    """Candles column-wise, ascending by open time; index ``i`` of every list is one bar.

    ``open_time`` is UTC milliseconds. ``volume``, ``quote_volume`` and ``trades`` hold None
    where the value is unknown (mark/index/funding series have no volume). ``complete`` is
    False for a bucket resampled from fewer source bars than it spans. ``synthetic_bars`` is
    True for bars made up by synthetic gap filling. ``next_cursor`` is the open time to pass as
    ``cursor`` for the next page (None: nothing after this page).
    """

    venue: str
    market_type: str
    symbol: str
    price_type: str
    timeframe: str
    source_timeframe: str  # the stored timeframe read (differs from timeframe when resampled)
    synthetic: bool
    open_time: list[int]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float | None]
    quote_volume: list[float | None]
    trades: list[int | None]
    complete: list[bool]
    synthetic_bars: list[bool]
    next_cursor: int | None = None

    @property
    def resampled(self) -> bool:
        """True when the bars were aggregated on the fly from a finer stored timeframe."""
        return self.timeframe != self.source_timeframe

    def __len__(self) -> int:
        return len(self.open_time)

    def as_arrays(self) -> dict[str, Any]:
        """numpy arrays: ``open_time`` int64, prices and volumes float64 (NaN where None),
        ``complete`` and ``synthetic_bars`` bool. numpy is imported here, not by the contract."""
        import numpy as np

        def floats(values: list[Any]) -> Any:
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

        return {
            "open_time": np.array(self.open_time, dtype=np.int64),
            "open": np.array(self.open, dtype=np.float64),
            "high": np.array(self.high, dtype=np.float64),
            "low": np.array(self.low, dtype=np.float64),
            "close": np.array(self.close, dtype=np.float64),
            "volume": floats(self.volume),
            "quote_volume": floats(self.quote_volume),
            "trades": floats(self.trades),
            "complete": np.array(self.complete, dtype=bool),
            "synthetic_bars": np.array(self.synthetic_bars, dtype=bool),
        }


@dataclass(frozen=True)
class GapInfo:
    """Missing bars with open times in ``[start, end)``; ``end`` is the next bar present.

    ``state``: ``missing`` (not filled yet), ``venue_has_none`` (the venue has no bars there
    either) or ``filled_synthetic`` (forward-filled on request, bars flagged synthetic).
    """

    start: datetime
    end: datetime
    missing_bars: int
    state: str


@rpc.service("data.market")
class MarketDataApi(Protocol):
    """Stored market data: candles (any stored timeframe, or a coarser one resampled on the
    fly), the series list with coverage, and gaps. Symbols are ccxt unified symbols (the URL
    form ``BTC-USDT`` is accepted too)."""

    def candles(
        self,
        *,
        venue: str,
        symbol: str,
        timeframe: str,
        market_type: str = "spot",
        price_type: str = "trades",
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> CandleSeries:
        """Candles in ``[start, end)``: with ``start`` the first ``limit`` bars from it, without
        it the latest ``limit`` bars before ``end`` (at most 5000; default 1000). Raises
        ``UnknownSeries`` when nothing is stored for the series, ``InvalidInput`` for bad
        arguments (unknown timeframe, end before start, limit out of range)."""
        ...

    def series(
        self,
        *,
        venue: str | None = None,
        symbol: str | None = None,
        timeframe: str | None = None,
        market_type: str | None = None,
        price_type: str | None = None,
    ) -> list[SeriesSummary]:
        """Stored series matching every filter given, with their coverage."""
        ...

    def gaps(
        self,
        *,
        venue: str,
        symbol: str,
        timeframe: str,
        market_type: str = "spot",
        price_type: str = "trades",
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[GapInfo]:
        """Missing ranges of a stored series in ``[start, end)`` (between its first and last
        bar when not given), with the state recorded for each. Raises ``UnknownSeries``."""
        ...


def market_data_api() -> MarketDataApi:
    """The market-data service for this process: in-process, or the remote client when the
    data domain runs elsewhere (``DSTA_REMOTE_DATA_URL``)."""
    return rpc.resolve(MarketDataApi)
