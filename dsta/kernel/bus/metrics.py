"""Prometheus metrics of the bus, on the default registry that django_prometheus serves.

Counters count in the process that does the work (publisher, relay, consumer); the outbox
gauges are read from the database at scrape time, so any process that serves /metrics
reports the same backlog.
"""

import logging
from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

published = Counter(
    "dsta_bus_events_published",
    "Events published, by event name and durability (durable goes through the outbox).",
    ["event", "durability"],
)
transient_dropped = Counter(
    "dsta_bus_transient_dropped",
    "Transient events the transport could not send (at most once: they are not retried).",
    ["event"],
)
relayed = Counter(
    "dsta_bus_outbox_relayed",
    "Outbox rows the relay handed to the transport and marked delivered.",
    ["event", "transport"],
)
delivered = Counter(
    "dsta_bus_events_delivered",
    "Handler runs that succeeded (the inbox receipt committed with the handler's writes).",
    ["event", "subscriber"],
)
duplicates = Counter(
    "dsta_bus_events_duplicate",
    "Redeliveries skipped by the inbox because the subscriber had handled the event.",
    ["event", "subscriber"],
)
handler_failures = Counter(
    "dsta_bus_handler_failures",
    "Handler runs that raised (rolled back; the event is retried for that subscriber).",
    ["event", "subscriber"],
)
retried = Counter(
    "dsta_bus_events_retried",
    "Deliveries scheduled again after a failure (outbox backoff or broker retry).",
    ["event"],
)
dead_lettered = Counter(
    "dsta_bus_events_dead_lettered",
    "Events moved to the dead-letter state after the last allowed attempt.",
    ["event"],
)


_children: dict[tuple[int, tuple[str, ...]], Counter] = {}


def inc(counter: Counter, *labels: str) -> None:
    """``counter.labels(*labels).inc()`` with the labelled child cached: ``labels()`` costs
    more than the rest of an in-process dispatch. Label values are event and subscriber
    names, a set bounded by the code."""
    key = (id(counter), labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = counter.labels(*labels)
    child.inc()


class OutboxCollector(Collector):
    """Outbox backlog computed at scrape time: pending and dead counts, oldest pending age."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Describing without samples keeps registration free of database queries.
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pending, lag, dead = self._families()
        try:
            from dsta.kernel.bus.outbox import backlog

            stats = backlog()
        except Exception:
            # A scrape must not fail because the database is away or not migrated yet.
            logger.warning("bus outbox backlog unavailable", exc_info=True)
            return
        pending.add_metric([], stats.pending)
        lag.add_metric([], stats.oldest_pending_age_seconds)
        dead.add_metric([], stats.dead)
        yield from (pending, lag, dead)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily("dsta_bus_outbox_pending", "Outbox rows not delivered yet."),
            GaugeMetricFamily(
                "dsta_bus_outbox_lag_seconds",
                "Age in seconds of the oldest undelivered outbox row (0 when none).",
            ),
            GaugeMetricFamily("dsta_bus_outbox_dead", "Outbox rows in the dead-letter state."),
        )


_collector: OutboxCollector | None = None


def register_outbox_collector() -> None:
    """Add the outbox collector to the default registry once (called from AppConfig.ready)."""
    global _collector  # one collector per process
    if _collector is None:
        _collector = OutboxCollector()
        REGISTRY.register(_collector)
