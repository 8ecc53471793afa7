"""The relay: claim due outbox rows, hand them to the transport, settle the result.

Three ways it runs, one code path:
- ``kick`` after a publisher's commit delivers that transaction's events at once, in the
  committing thread (embedded mode: synchronous, so what a request published has been
  handled when the response goes out; a failure is only recorded for retry, never raised);
- ``run_relay`` (``run``) loops for retries, crash recovery and publishers that turned the
  kick off; several may run against PostgreSQL;
- ``relay_once`` / ``drain`` deliver what is due synchronously, for tests and scripts.
"""

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

from django.db import close_old_connections, connections
from django.utils import timezone

from dsta.kernel.bus import outbox
from dsta.kernel.bus.conf import BusSettings, bus_settings
from dsta.kernel.bus.outbox import Claimed
from dsta.kernel.bus.transports import get_transport

logger = logging.getLogger(__name__)


def relay_once(
    *,
    now: datetime | None = None,
    limit: int | None = None,
    lease_seconds: float | None = None,
) -> int:
    """Claim and deliver one batch of due rows; the number of rows processed.

    ``now`` is the relay's clock (tests move it forward to make backoffs due).
    """
    conf = bus_settings()
    now = now or timezone.now()
    rows = outbox.claim(
        now=now,
        limit=limit or conf.relay_batch_size,
        lease=timedelta(
            seconds=conf.relay_lease_seconds if lease_seconds is None else lease_seconds
        ),
    )
    _deliver(rows, now=now, conf=conf)
    return len(rows)


def drain(*, now: datetime | None = None, max_batches: int = 10_000) -> int:
    """Relay until nothing is due; the number of rows processed.

    Failed rows get a backoff past ``now``, so a failing handler does not keep this loop
    busy: it stops once every due row was tried.
    """
    total = 0
    for _ in range(max_batches):
        processed = relay_once(now=now)
        if processed == 0:
            break
        total += processed
    return total


def kick(event_ids: Sequence[UUID]) -> None:
    """Deliver just-committed events now (the publisher's on-commit hook).

    Never raises: the transaction is committed, and anything left undelivered stays in the
    outbox for the relay.
    """
    try:
        conf = bus_settings()
        now = timezone.now()
        rows = outbox.claim(
            now=now,
            limit=len(event_ids),
            lease=timedelta(seconds=conf.relay_lease_seconds),
            event_ids=event_ids,
        )
        _deliver(rows, now=now, conf=conf)
    except Exception:
        logger.exception("bus kick failed; the relay will deliver later")


def run(
    stop: threading.Event,
    *,
    interval: float | None = None,
    limit: int | None = None,
    lease_seconds: float | None = None,
    prune_every: float = 3600.0,
) -> None:
    """Relay until ``stop`` is set: batch after batch while busy, ``interval`` pauses when idle.

    Also prunes delivered rows and receipts past ``BUS_RETENTION_DAYS`` every
    ``prune_every`` seconds. Database errors are logged and retried after a pause.
    """
    conf = bus_settings()
    pause = conf.relay_interval_seconds if interval is None else interval
    next_prune = 0.0
    while not stop.is_set():
        close_old_connections()
        try:
            if prune_every > 0 and time.monotonic() >= next_prune:
                next_prune = time.monotonic() + prune_every
                _prune(conf)
            processed = relay_once(limit=limit, lease_seconds=lease_seconds)
        except Exception:
            logger.exception("bus relay batch failed")
            processed = 0
        if processed == 0:
            stop.wait(pause)


class BackgroundRelay(threading.Thread):
    """``run`` in a daemon thread, for the embedded mode's single process."""

    def __init__(self, *, interval: float | None = None) -> None:
        super().__init__(name="dsta-bus-relay", daemon=True)
        self.stop_event = threading.Event()
        self.interval = interval

    def run(self) -> None:
        try:
            run(self.stop_event, interval=self.interval)
        finally:
            connections.close_all()

    def stop(self, timeout: float | None = 10.0) -> None:
        self.stop_event.set()
        self.join(timeout)


def start_background_relay(*, interval: float | None = None) -> BackgroundRelay:
    """Start a relay thread in this process (retries and recovery without ``run_relay``)."""
    relay = BackgroundRelay(interval=interval)
    relay.start()
    return relay


def _deliver(rows: Sequence[Claimed], *, now: datetime, conf: BusSettings) -> None:
    if not rows:
        return
    transport = get_transport(conf)
    report = transport.deliver(rows)
    outbox.mark_delivered(report.delivered, now=now, transport=transport.kind)
    for row, error in report.failed:
        state = outbox.mark_failed(row, error=error, now=now, conf=conf)
        logger.warning(
            "bus delivery failed",
            extra={
                "event": row.envelope.name,
                "event_id": str(row.envelope.event_id),
                "attempt": row.attempts,
                "state": state,
            },
        )


def _prune(conf: BusSettings) -> None:
    outbox_rows, receipts = outbox.prune(
        older_than=timezone.now() - timedelta(days=conf.retention_days)
    )
    if outbox_rows or receipts:
        logger.info("bus pruned", extra={"outbox_rows": outbox_rows, "receipts": receipts})
