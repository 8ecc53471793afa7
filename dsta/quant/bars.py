"""Bars: aligned OHLCV arrays for one or more symbols, the input of every strategy and backtest.

Layout: one C-contiguous float64 block ``prices[field, bar, symbol]`` with fields
``open, high, low, close, volume`` (in that order), plus int64 ``timestamps`` (bar OPEN time,
UTC milliseconds, strictly increasing). The engine reads the block as is; the properties
``open``..``volume`` are (bars, symbols) views of it, and :meth:`Bars.column` gives the 1-D
view of one symbol.

Several symbols share one time axis (one cash account trades them all); aligning series with
different histories is the caller's job.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dsta.quant.errors import InvalidBars
from dsta.quant.timeframes import periods_per_year

FIELDS = ("open", "high", "low", "close", "volume")
OPEN, HIGH, LOW, CLOSE, VOLUME = range(5)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Bars:
    """Validated, immutable OHLCV bars; build with :meth:`from_arrays`."""

    timestamps: NDArray[np.int64]
    prices: FloatArray
    symbols: tuple[str, ...]
    timeframe: str | None = None

    @classmethod
    def from_arrays(
        cls,
        timestamps: ArrayLike,
        open: ArrayLike,
        high: ArrayLike,
        low: ArrayLike,
        close: ArrayLike,
        volume: ArrayLike | None = None,
        *,
        symbols: Sequence[str] = ("SYMBOL",),
        timeframe: str | None = None,
    ) -> "Bars":
        """Bars from 1-D arrays (one symbol) or (bars, symbols) arrays; checks everything.

        Raises :class:`InvalidBars` when there are no bars, shapes disagree, timestamps are not
        strictly increasing, or a price is not finite and positive (volume: finite, >= 0;
        missing volume is taken as zero).
        """
        stamps = np.asarray(timestamps)
        if stamps.ndim != 1 or stamps.size == 0:
            raise InvalidBars("no bars: timestamps must be a non-empty 1-D array")
        if not np.issubdtype(stamps.dtype, np.integer):
            raise InvalidBars(f"timestamps must be integer milliseconds, got {stamps.dtype}")
        stamps = stamps.astype(np.int64, copy=True)
        n = stamps.size
        columns = [np.asarray(a, dtype=np.float64) for a in (open, high, low, close)]
        columns.append(
            np.zeros_like(columns[3]) if volume is None else np.asarray(volume, dtype=np.float64)
        )
        shape = columns[0].shape
        for name, column in zip(FIELDS, columns, strict=True):
            if column.shape != shape:
                raise InvalidBars(f"{name} has shape {column.shape}, open has {shape}")
        if len(shape) == 1:
            columns = [c[:, None] for c in columns]
        elif len(shape) != 2:
            raise InvalidBars(f"price arrays must be 1-D or 2-D, got {len(shape)}-D")
        if columns[0].shape[0] != n:
            raise InvalidBars(f"{columns[0].shape[0]} price rows for {n} timestamps")
        symbols = tuple(symbols)
        if len(symbols) != columns[0].shape[1] or len(set(symbols)) != len(symbols):
            raise InvalidBars(
                f"{len(symbols)} distinct symbol names needed for {columns[0].shape[1]} columns"
            )
        prices = np.ascontiguousarray(np.stack(columns))
        bars = cls(stamps, prices, symbols, timeframe)
        bars.validate()
        return bars

    def validate(self) -> None:
        """Raise :class:`InvalidBars` naming the first offending bar, if any."""
        if self.timestamps.size == 0:
            raise InvalidBars("no bars")
        steps = np.diff(self.timestamps)
        if steps.size and steps.min() <= 0:
            at = int(np.argmax(steps <= 0)) + 1
            raise InvalidBars(
                f"timestamps must be strictly increasing; bar {at} "
                f"({int(self.timestamps[at])}) is not after bar {at - 1}",
                details={"bar": at},
            )
        ohlc = self.prices[:4]
        bad = ~(np.isfinite(ohlc) & (ohlc > 0))
        if bad.any():
            field, bar, symbol = (int(v) for v in np.argwhere(bad)[0])
            raise InvalidBars(
                f"{FIELDS[field]} of {self.symbols[symbol]} at bar {bar} "
                f"({int(self.timestamps[bar])}) is {self.prices[field, bar, symbol]!r}: "
                "prices must be finite and positive",
                details={"bar": bar, "field": FIELDS[field], "symbol": self.symbols[symbol]},
            )
        volume = self.prices[VOLUME]
        bad_volume = ~(np.isfinite(volume) & (volume >= 0))
        if bad_volume.any():
            bar, symbol = (int(v) for v in np.argwhere(bad_volume)[0])
            raise InvalidBars(
                f"volume of {self.symbols[symbol]} at bar {bar} is {volume[bar, symbol]!r}: "
                "volume must be finite and >= 0",
                details={"bar": bar, "field": "volume", "symbol": self.symbols[symbol]},
            )

    def __len__(self) -> int:
        return int(self.timestamps.size)

    @property
    def n_symbols(self) -> int:
        """How many symbols (columns) the bars hold."""
        return len(self.symbols)

    @property
    def open(self) -> FloatArray:
        """(bars, symbols) view of the open prices."""
        return self.prices[OPEN]

    @property
    def high(self) -> FloatArray:
        """(bars, symbols) view of the highs."""
        return self.prices[HIGH]

    @property
    def low(self) -> FloatArray:
        """(bars, symbols) view of the lows."""
        return self.prices[LOW]

    @property
    def close(self) -> FloatArray:
        """(bars, symbols) view of the closes."""
        return self.prices[CLOSE]

    @property
    def volume(self) -> FloatArray:
        """(bars, symbols) view of the volumes (base units)."""
        return self.prices[VOLUME]

    def column(self, field: str, symbol: int | str = 0) -> FloatArray:
        """1-D view of one field of one symbol (by index or name)."""
        return self.prices[FIELDS.index(field), :, self.symbol_index(symbol)]

    def symbol_index(self, symbol: int | str) -> int:
        """The column of ``symbol`` (a name or an index), or :class:`InvalidBars`."""
        if isinstance(symbol, str):
            if symbol not in self.symbols:
                raise InvalidBars(f"unknown symbol {symbol!r}; bars hold {list(self.symbols)}")
            return self.symbols.index(symbol)
        if not 0 <= symbol < len(self.symbols):
            raise InvalidBars(f"symbol index {symbol} out of range for {len(self.symbols)}")
        return int(symbol)

    def slice(self, start: int | None = None, stop: int | None = None) -> "Bars":
        """Bars ``[start:stop)`` (the price block is copied so it stays contiguous)."""
        stamps = self.timestamps[start:stop]
        if stamps.size == 0:
            raise InvalidBars(f"bar range [{start}:{stop}) of {len(self)} bars is empty")
        prices = np.ascontiguousarray(self.prices[:, start:stop, :])
        return Bars(stamps, prices, self.symbols, self.timeframe)

    def periods_per_year(self) -> float | None:
        """The annualisation factor of the timeframe (365-day year), or None when unknown."""
        return periods_per_year(self.timeframe) if self.timeframe else None

    def digest(self) -> str:
        """sha256 of timestamps, prices and symbols: names exactly the candles a run used."""
        sha = hashlib.sha256()
        sha.update(np.ascontiguousarray(self.timestamps).tobytes())
        sha.update(self.prices.tobytes())
        sha.update("\x1f".join(self.symbols).encode())
        return sha.hexdigest()
