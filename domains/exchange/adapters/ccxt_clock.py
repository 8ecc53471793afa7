"""Our clock against a venue's: measured lazily, given to ccxt for signing, and measured again
when the venue refuses a request's timestamp.

**Timestamps, not nonces.** ccxt stamps every signed request of our three venues with
``nonce() = milliseconds() - options["timeDifference"]``, and each venue reads it as a time:

- Binance spot: ``timestamp`` (ms) and ``recvWindow`` (ccxt sends 10 000 ms); refused with
  -1021 when more than 1000 ms ahead of the server's time or older than ``recvWindow``
  (Binance spot API docs, "Timing security").
- Gate.io APIv4: the ``Timestamp`` header (s); refused with ``REQUEST_EXPIRED`` beyond 60 s of
  the server's time (APIv4 docs, "Authentication").
- HTX spot: the ``Timestamp`` query field (UTC, to the second); refused with
  ``api-signature-not-valid`` "Invalid submission time".

None of them wants the value to grow from one request to the next (a nonce venue such as
Kraken does, which is why ccxt's manual says to serialize one credential's calls there). So a
credential's calls are not serialized here: two orders of one account may be in flight at
once. Only the measurement is serialized, so a burst of refusals measures once.

**Offset** = our clock minus the venue's, in ms (positive: ours is ahead), from one
``fetch_time`` round trip, as NTP and ccxt's own Binance example do: the venue stamped its time
about halfway between our send and our receive, so offset = (sent + received) / 2 - venue
time. It becomes ccxt's ``options["timeDifference"]`` (ccxt's ``load_time_difference`` would
take the receive time alone and count half the round trip as skew). All three venues have a
time call in ccxt 4.5 (``has["fetchTime"]``: Binance ``GET /api/v3/time``, Gate
``GET /spot/time``, HTX ``GET /v1/common/timestamp``); for a venue without one the offset stays
unknown, nothing is measured, and a refusal is reported at once.

The offset of a venue is one number for the process (:class:`ClockOffset`, kept by the venue's
resilience runtime and shown in its status); each ccxt client has a :class:`ClockSync` that
measures it when due and copies it into its own options before every call.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import ccxt

from domains.exchange.api import ExchangeFailure

logger = logging.getLogger(__name__)

# After a failed measurement, the next lazy one waits this long (a refusal still resyncs).
RETRY_FAILED_AFTER = 60.0


@dataclass(frozen=True)
class OffsetReading:
    """The last measurement of one venue's clock against ours."""

    offset_ms: int | None = None  # ours minus the venue's; None until measured
    measured_at: float | None = None  # our clock (seconds) at the measurement
    failed_at: float | None = None  # the last failed measurement, if any since
    error: str = ""


class ClockUnsupported(Exception):
    """The venue has no time call in ccxt: its offset cannot be measured."""


class ClockOffset:
    """One venue's clock offset, shared by every ccxt client of that venue in this process."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._reading = OffsetReading()
        self._state = threading.Lock()
        self._measuring = threading.Lock()  # one measurement at a time

    def reading(self) -> OffsetReading:
        with self._state:
            return self._reading

    def due(self, interval: float) -> bool:
        """Whether a lazy measurement is due: never measured, or older than ``interval``
        seconds (``interval`` <= 0: never lazily). Not within ``RETRY_FAILED_AFTER`` of a
        failed one."""
        if interval <= 0:
            return False
        reading, now = self.reading(), self.clock()
        if reading.failed_at is not None and now - reading.failed_at < RETRY_FAILED_AFTER:
            return False
        return reading.measured_at is None or now - reading.measured_at >= interval

    def measure(
        self, probe: Callable[[], int], *, newer_than: float | None = None, wait: bool = True
    ) -> int | None:
        """Run ``probe`` (one measurement, ms) and keep its result.

        With ``newer_than``, a measurement another thread finished after that time is reused
        instead. With ``wait=False``, None when another thread is measuring right now. A
        failing ``probe`` is recorded and its exception raised.
        """
        if not self._measuring.acquire(blocking=wait):
            return None
        try:
            reading = self.reading()
            if (
                newer_than is not None
                and reading.measured_at is not None
                and reading.offset_ms is not None
                and reading.measured_at > newer_than
            ):
                return reading.offset_ms
            try:
                offset = probe()
            except Exception as error:
                with self._state:
                    self._reading = OffsetReading(
                        offset_ms=reading.offset_ms,
                        measured_at=reading.measured_at,
                        failed_at=self.clock(),
                        error=f"{type(error).__name__}: {error}"[:300],
                    )
                raise
            with self._state:
                self._reading = OffsetReading(offset_ms=offset, measured_at=self.clock())
            return offset
        finally:
            self._measuring.release()


class ClockSync:
    """Keeps one ccxt exchange's ``options["timeDifference"]`` on its venue's offset."""

    def __init__(
        self,
        exchange: ccxt.Exchange,
        *,
        venue: str,
        offset: ClockOffset,
        interval: Callable[[], float] | float = 0.0,
    ) -> None:
        """``interval``: seconds between lazy measurements (a callable reads the venue's
        current setting); 0 measures only after a refusal."""
        self.exchange = exchange
        self.venue = venue
        self.offset = offset
        self._interval = interval
        self._apply()  # a new client starts from what the venue's other clients learnt

    @property
    def supported(self) -> bool:
        return bool(self.exchange.has.get("fetchTime"))

    @property
    def interval(self) -> float:
        return float(self._interval() if callable(self._interval) else self._interval)

    def prepare(self) -> None:
        """Before a call: measure when due (the first call of the venue's first client, then
        every ``interval``), tolerating failure (the call goes on with the last offset), then
        stamp this client's requests with the venue's offset."""
        if self.supported and self.offset.due(self.interval):
            try:
                self.offset.measure(self._probe, wait=False)
            except (ccxt.BaseError, ExchangeFailure) as error:
                logger.warning(
                    "could not measure the venue's clock",
                    extra={"venue": self.venue, "error": type(error).__name__},
                )
        self._apply()

    def resync(self, *, newer_than: float) -> int:
        """Measure again after the venue refused a timestamp sent at ``newer_than`` (another
        thread's measurement since then is reused) and apply it. Raises ``ClockUnsupported``,
        or what the time call raised."""
        if not self.supported:
            raise ClockUnsupported(f"{self.venue} has no time call in ccxt (fetchTime)")
        offset = self.offset.measure(self._probe, newer_than=newer_than)
        assert offset is not None  # waited for the lock
        self._apply()
        return offset

    def now(self) -> float:
        return self.offset.clock()

    def _probe(self) -> int:
        sent = self.exchange.milliseconds()
        venue_time = self.exchange.fetch_time()
        received = self.exchange.milliseconds()
        if venue_time is None:
            raise ccxt.BadResponse(f"{self.venue} answered its time call without a time")
        return round((sent + received) / 2 - int(venue_time))

    def _apply(self) -> None:
        offset = self.offset.reading().offset_ms
        if offset is not None:
            self.exchange.options["timeDifference"] = offset
