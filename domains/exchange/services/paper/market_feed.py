"""What moves the paper venue's books: market data of real venues, or candles where none flow.

``PaperMarketFeed`` turns the market data other parts of DSTA publish into the books of the
built-in ``paper`` venue (docs/domains/exchange.md, "What moves the paper books"):

* **Sources** (``EXCHANGE_PAPER_SOURCES``, most preferred first): only these venues move the
  paper books, and only for the spot markets the paper venue simulates. A symbol follows the
  most preferred source that fed it recently: an update from a less preferred source is ignored
  while a more preferred one moved that symbol within ``EXCHANGE_PAPER_SOURCE_STALE_SECONDS``.
* **Live books first**: an ``OrderBookUpdated`` of a source venue is fed, levels copied, as the
  paper book of the same symbol (matching resting paper orders it crosses). The paper venue's
  own ``OrderBookUpdated`` is never fed back (that would loop). At most one book per symbol
  every ``EXCHANGE_PAPER_BOOK_MIN_INTERVAL_SECONDS``: each one is a locked write transaction,
  and the venue streams publish up to ten a second per symbol.
* **Candles otherwise**: a ``CandleClosed`` of a source series (spot, trade prices,
  ``EXCHANGE_PAPER_TIMEFRAME``) fills resting orders the bar traded through and installs the
  synthetic book of ``synthetic.py``, but only when it is news: it closed at most
  ``EXCHANGE_PAPER_CANDLE_MAX_AGE_SECONDS`` ago, after the last bar applied to that symbol and
  after the stored paper book was taken. A bulk import of history therefore never replays old
  prices into paper accounts. A candle is skipped while a live book of that symbol arrived
  within ``EXCHANGE_PAPER_LIVE_BOOK_SECONDS`` (a live book beats the candle model).
* **Seeding on demand**: a paper call on a symbol whose paper book is empty first installs the
  model book of the latest stored candle of the first source that has the series (read through
  the data domain's door), so a fresh ``./run serve`` with demo data can paper-trade at once.
  That book is only as fresh as the stored data: its timestamp is the bar's close. Each symbol
  is looked at (paper book, then the data store) at most once per
  ``EXCHANGE_PAPER_SEED_RETRY_SECONDS``.

The preference, throttle, last-bar and seeding state is kept in memory, **per process**: a
process that restarts starts afresh (the max-age rule and the stored book's timestamp still
keep old bars out), and two processes feeding the same symbol (a stream process for live
books, the server for candles) only share what the database holds, the paper book and its
timestamp. Thread-safe: transient events arrive on the publishers' threads.
"""

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from domains.data.api import MarketDataApi, UnknownSeries, market_data_api
from domains.data.events import CandleClosed
from domains.exchange.api import (
    BookLevel,
    Candle,
    MarketInfo,
    MarketType,
    OrderBook,
    Venue,
)
from domains.exchange.events import OrderBookUpdated
from domains.exchange.services.paper.service import PaperExchange
from domains.exchange.services.paper.store import book_of, market_row
from domains.exchange.services.paper.synthetic import book_from_candle
from dsta.kernel.errors import DstaError, InvalidInput
from dsta.kernel.market import Timeframe

logger = logging.getLogger(__name__)

PAPER = Venue.PAPER.value
# The simulated markets are re-read this often (markets are registered rarely; books arrive
# several times a second).
MARKETS_REFRESH = timedelta(seconds=60)


class FeedOutcome(StrEnum):
    """What the feed did with one update or seeding request (logged at debug, tested)."""

    APPLIED = "applied"  # the paper book moved
    SEEDED = "seeded"  # an empty paper book was seeded from a stored candle
    NOT_A_SOURCE = "not_a_source"  # venue not in the sources (or the paper venue itself)
    NOT_SIMULATED = "not_simulated"  # a symbol/series the paper venue does not simulate
    OUTRANKED = "outranked"  # a more preferred source fed the symbol recently
    THROTTLED = "throttled"  # a book of this symbol was applied less than the interval ago
    EMPTY = "empty"  # a book without levels or a bar without volume: nothing to model
    STALE_BAR = "stale_bar"  # the bar closed longer ago than the max age (history)
    NOT_NEWER = "not_newer"  # not after the last bar applied / the stored book
    LIVE_BOOK = "live_book"  # a live book of the symbol arrived recently
    HAS_BOOK = "has_book"  # seeding: the paper book has levels already
    CACHED = "cached"  # seeding: this symbol was looked at less than the retry interval ago
    NO_DATA = "no_data"  # seeding: no source has a stored series for the symbol
    FAILED = "failed"  # an error, logged


@dataclass(frozen=True)
class PaperFeedConfig:
    """The feed's settings (``EXCHANGE_PAPER_*``, docs/operations.md)."""

    sources: tuple[str, ...] = ("binance", "gateio", "htx", "demo")
    timeframe: Timeframe = field(default_factory=lambda: Timeframe("1m"))
    candle_max_age: timedelta = timedelta(seconds=180)
    source_stale_after: timedelta = timedelta(seconds=120)
    live_book_window: timedelta = timedelta(seconds=60)
    book_min_interval: timedelta = timedelta(seconds=1)
    seed_retry: timedelta = timedelta(seconds=60)

    @classmethod
    def from_settings(cls) -> "PaperFeedConfig":
        defaults = cls()

        def seconds(name: str, default: timedelta) -> timedelta:
            value = float(getattr(settings, name, default.total_seconds()))
            if value < 0:
                raise InvalidInput(f"{name} must not be negative", details={"setting": name})
            return timedelta(seconds=value)

        return cls(
            sources=parse_sources(getattr(settings, "EXCHANGE_PAPER_SOURCES", defaults.sources)),
            timeframe=Timeframe.parse(
                getattr(settings, "EXCHANGE_PAPER_TIMEFRAME", defaults.timeframe)
            ),
            candle_max_age=seconds(
                "EXCHANGE_PAPER_CANDLE_MAX_AGE_SECONDS", defaults.candle_max_age
            ),
            source_stale_after=seconds(
                "EXCHANGE_PAPER_SOURCE_STALE_SECONDS", defaults.source_stale_after
            ),
            live_book_window=seconds("EXCHANGE_PAPER_LIVE_BOOK_SECONDS", defaults.live_book_window),
            book_min_interval=seconds(
                "EXCHANGE_PAPER_BOOK_MIN_INTERVAL_SECONDS", defaults.book_min_interval
            ),
            seed_retry=seconds("EXCHANGE_PAPER_SEED_RETRY_SECONDS", defaults.seed_retry),
        )

    def rank(self, source: str) -> int | None:
        """Position of ``source`` in the preference order (0 = most preferred); None if not one."""
        try:
            return self.sources.index(source)
        except ValueError:
            return None


def parse_sources(value: str | Iterable[str]) -> tuple[str, ...]:
    """``"binance, gateio,demo"`` -> ``("binance", "gateio", "demo")``: order kept, blanks and
    repeats dropped, and never ``paper`` (its own books must not feed it)."""
    items = value.split(",") if isinstance(value, str) else value
    sources: list[str] = []
    for item in items:
        source = item.strip().lower()
        if source and source != PAPER and source not in sources:
            sources.append(source)
    return tuple(sources)


@dataclass
class _SymbolTrack:
    """In-memory state of one paper symbol (see the module docstring)."""

    fed: dict[str, datetime] = field(default_factory=dict)  # source -> when it last moved it
    live_book_at: datetime | None = None  # when a source's live book last arrived
    book_applied_at: datetime | None = None  # when a live book was last written (throttle)
    last_bar_close: datetime | None = None  # close of the last bar applied or seeded from
    seed_checked_at: datetime | None = None  # when seeding last looked at this symbol


class PaperMarketFeed:
    """Moves the ``paper`` venue's books from source venues' books and candles, and seeds an
    empty one on demand. State is per process (module docstring)."""

    def __init__(
        self,
        *,
        paper: PaperExchange,
        clock: Callable[[], datetime] = timezone.now,
        config: PaperFeedConfig | None = None,
        market_data: Callable[[], MarketDataApi] = market_data_api,
    ) -> None:
        """``config`` None: read the settings on every call (``override_settings`` applies)."""
        self.paper = paper
        self.clock = clock
        self._fixed_config = config
        self._market_data = market_data
        self._lock = threading.Lock()
        self._tracks: dict[str, _SymbolTrack] = {}
        self._markets: dict[str, MarketInfo] = {}
        self._markets_at: datetime | None = None

    @property
    def config(self) -> PaperFeedConfig:
        return self._fixed_config or PaperFeedConfig.from_settings()

    def reset(self) -> None:
        """Forget the in-memory state, as a restarted process would."""
        with self._lock:
            self._tracks.clear()
            self._markets.clear()
            self._markets_at = None

    # --- live books -------------------------------------------------------------------------

    def on_order_book(self, event: OrderBookUpdated) -> FeedOutcome:
        """A source venue's book becomes the paper book of the same symbol."""
        try:
            return self._on_order_book(event)
        except Exception:
            logger.exception(
                "paper feed: book not applied", extra={"venue": event.venue, "symbol": event.symbol}
            )
            if not connection.in_atomic_block:
                # Books arrive on the stream's long-lived threads, which no request cycle
                # tidies: drop a broken connection so the next book reconnects.
                close_old_connections()
            return FeedOutcome.FAILED

    def _on_order_book(self, event: OrderBookUpdated) -> FeedOutcome:
        config = self.config
        if config.rank(event.venue) is None:
            return FeedOutcome.NOT_A_SOURCE
        if self._market(event.symbol) is None:
            return FeedOutcome.NOT_SIMULATED
        if not event.bids and not event.asks:
            return FeedOutcome.EMPTY
        now = self.clock()
        with self._lock:
            track = self._tracks.setdefault(event.symbol, _SymbolTrack())
            if self._outranked(track, event.venue, now, config):
                return FeedOutcome.OUTRANKED
            # The source is alive and chosen even when the throttle skips this book.
            track.fed[event.venue] = now
            track.live_book_at = now
            applied = track.book_applied_at
            if applied is not None and now - applied < config.book_min_interval:
                return FeedOutcome.THROTTLED
            track.book_applied_at = now
        book = OrderBook(
            venue=PAPER,
            symbol=event.symbol,
            timestamp=event.occurred_at,
            bids=tuple(BookLevel(price, amount) for price, amount in event.bids),
            asks=tuple(BookLevel(price, amount) for price, amount in event.asks),
            sequence=event.sequence,
        )
        with transaction.atomic():  # a failure rolls back to here, not the caller's transaction
            self.paper.feed_book(book=book)
        return self._done(FeedOutcome.APPLIED, event.venue, event.symbol)

    # --- candles ----------------------------------------------------------------------------

    def on_candle_closed(self, event: CandleClosed) -> FeedOutcome:
        """A new closed bar of a source series moves the paper book when it is news."""
        try:
            return self._on_candle_closed(event)
        except Exception:
            logger.exception(
                "paper feed: candle not applied",
                extra={"venue": event.venue, "symbol": event.symbol, "open_time": event.open_time},
            )
            return FeedOutcome.FAILED

    def _on_candle_closed(self, event: CandleClosed) -> FeedOutcome:
        config = self.config
        if config.rank(event.venue) is None:
            return FeedOutcome.NOT_A_SOURCE
        if (
            event.market_type != MarketType.SPOT.value
            or event.price_type != "trades"
            or event.timeframe != config.timeframe.code
        ):
            return FeedOutcome.NOT_SIMULATED
        if self._market(event.symbol) is None:
            return FeedOutcome.NOT_SIMULATED
        now = self.clock()
        closed_at = _utc(event.open_time) + timedelta(milliseconds=config.timeframe.ms)
        if now - closed_at > config.candle_max_age:
            return FeedOutcome.STALE_BAR  # history (a backfill, an import): not news
        if event.volume is None or event.volume <= 0:
            return FeedOutcome.EMPTY  # no volume, no depth to model
        with self._lock:
            track = self._tracks.setdefault(event.symbol, _SymbolTrack())
            if track.last_bar_close is not None and closed_at <= track.last_bar_close:
                return FeedOutcome.NOT_NEWER
            if self._outranked(track, event.venue, now, config):
                return FeedOutcome.OUTRANKED
            live = track.live_book_at
            if live is not None and now - live <= config.live_book_window:
                return FeedOutcome.LIVE_BOOK
            # Claimed now, so a second event for the same bar (another thread) is not newer.
            track.last_bar_close = closed_at
        candle = Candle(
            open_time=_utc(event.open_time),
            open=event.open,
            high=event.high,
            low=event.low,
            close=event.close,
            volume=event.volume,
        )
        with transaction.atomic():
            # The stored book says what another process (or a seeding) applied: a book taken
            # at or after this bar's close is newer market information than the bar.
            stored = book_of(market_row(PAPER, event.symbol, lock=False))
            if stored is not None and stored.timestamp >= closed_at:
                return FeedOutcome.NOT_NEWER
            self.paper.feed_candle(venue=PAPER, symbol=event.symbol, candle=candle, at=closed_at)
        with self._lock:
            self._tracks.setdefault(event.symbol, _SymbolTrack()).fed[event.venue] = now
        return self._done(FeedOutcome.APPLIED, event.venue, event.symbol)

    # --- seeding on demand ------------------------------------------------------------------

    def ensure_book(self, *, venue: str, symbol: str) -> FeedOutcome:
        """Before a paper call: seed the paper book of ``symbol`` from the latest stored candle
        of the first source that has the series, when the book has no levels. Never raises:
        the call then goes on as it would have without the feed."""
        try:
            return self._ensure_book(venue, symbol)
        except Exception:
            logger.exception("paper feed: seeding failed", extra={"symbol": symbol})
            return FeedOutcome.FAILED

    def _ensure_book(self, venue: str, symbol: str) -> FeedOutcome:
        if venue != PAPER:
            return FeedOutcome.NOT_A_SOURCE
        market = self._market(symbol)
        if market is None:
            return FeedOutcome.NOT_SIMULATED  # the paper call answers unknown_symbol itself
        config = self.config
        now = self.clock()
        with self._lock:
            track = self._tracks.setdefault(symbol, _SymbolTrack())
            checked = track.seed_checked_at
            if checked is not None and now - checked < config.seed_retry:
                return FeedOutcome.CACHED
            track.seed_checked_at = now
        stored = book_of(market_row(PAPER, symbol, lock=False))
        if stored is not None and (stored.bids or stored.asks):
            return FeedOutcome.HAS_BOOK
        found = self._latest_stored_candle(symbol, config)
        if found is None:
            return FeedOutcome.NO_DATA
        source, candle = found
        closed_at = candle.open_time + timedelta(milliseconds=config.timeframe.ms)
        if stored is not None and stored.timestamp >= closed_at:
            # A book emptied by fills is not refilled from the bar it already came from.
            return FeedOutcome.NOT_NEWER
        book = book_from_candle(market, candle, self.paper.book_model, at=closed_at)
        with transaction.atomic():
            self.paper.feed_book(book=book)
        with self._lock:
            last = track.last_bar_close
            track.last_bar_close = closed_at if last is None else max(last, closed_at)
        logger.info(
            "paper book seeded from a stored candle",
            extra={"symbol": symbol, "source": source, "closed_at": closed_at.isoformat()},
        )
        return FeedOutcome.SEEDED

    def _latest_stored_candle(
        self, symbol: str, config: PaperFeedConfig
    ) -> tuple[str, Candle] | None:
        """The latest stored bar of the first source with a usable series of ``symbol``."""
        api = self._market_data()
        for source in config.sources:
            try:
                series = api.candles(
                    venue=source, symbol=symbol, timeframe=config.timeframe.code, limit=1
                )
            except UnknownSeries:
                continue
            except DstaError as error:  # e.g. the data service is remote and down
                logger.warning(
                    "paper feed: stored candles unreadable",
                    extra={"source": source, "symbol": symbol, "code": error.code},
                )
                continue
            if not len(series):
                continue
            volume = series.volume[-1]
            if volume is None or volume <= 0:
                continue  # a bar without volume cannot size a book
            return source, Candle(
                open_time=datetime.fromtimestamp(series.open_time[-1] / 1000, tz=UTC),
                open=series.open[-1],
                high=series.high[-1],
                low=series.low[-1],
                close=series.close[-1],
                volume=volume,
            )
        return None

    # --- helpers ----------------------------------------------------------------------------

    def _market(self, symbol: str) -> MarketInfo | None:
        """The paper venue's spot market of ``symbol`` (re-read every ``MARKETS_REFRESH``)."""
        now = self.clock()
        with self._lock:
            loaded_at = self._markets_at
            fresh = loaded_at is not None and abs(now - loaded_at) < MARKETS_REFRESH
            if fresh:
                return self._markets.get(symbol)
        markets = {
            m.symbol: m for m in self.paper.markets(venue=PAPER) if m.market_type is MarketType.SPOT
        }
        with self._lock:
            self._markets, self._markets_at = markets, now
        return markets.get(symbol)

    @staticmethod
    def _outranked(
        track: _SymbolTrack, source: str, now: datetime, config: PaperFeedConfig
    ) -> bool:
        rank = config.rank(source)
        assert rank is not None
        for better in config.sources[:rank]:
            seen = track.fed.get(better)
            if seen is not None and now - seen <= config.source_stale_after:
                return True
        return False

    @staticmethod
    def _done(outcome: FeedOutcome, source: str, symbol: str) -> FeedOutcome:
        logger.debug("paper feed: %s", outcome, extra={"source": source, "symbol": symbol})
        return outcome


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


_feed: PaperMarketFeed | None = None
_feed_lock = threading.Lock()


def paper_market_feed() -> PaperMarketFeed:
    """This process's feed (the handlers' and the registered gateway's), made on first use."""
    global _feed  # one per process, made lazily (the apps are ready by then)
    with _feed_lock:
        if _feed is None:
            _feed = PaperMarketFeed(paper=PaperExchange())
        return _feed
