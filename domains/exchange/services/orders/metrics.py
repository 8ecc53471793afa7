"""Prometheus metrics of the live order ledger, on the default registry ``/metrics`` serves.

``dsta_exchange_live_orders_unresolved`` is read from the database at scrape time (like the
bus's outbox gauges), so every process serving ``/metrics`` reports the same number; the
counter counts the reconciler's verdicts in the process that ran it.
"""

import logging
from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

reconciled = Counter(
    "dsta_exchange_orders_reconciled",
    "Live orders the reconciler looked up, by venue and result (resolved, updated, unchanged, "
    "not_found_yet, rejected, missing, error, venue_unavailable).",
    ["venue", "result"],
)


def count_result(venue: str, result: str) -> None:
    reconciled.labels(venue, result).inc()


class UnresolvedOrdersCollector(Collector):
    """Live orders without a verdict (``submitting`` or ``unknown``), per venue and outcome."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        try:
            from django.db.models import Count

            from domains.exchange.models import LiveOrder
            from domains.exchange.services.orders.ledger import UNRESOLVED

            rows = (
                LiveOrder.objects.filter(outcome__in=UNRESOLVED)
                .values("venue", "outcome")
                .annotate(n=Count("pk"))
            )
            counts = {(row["venue"], row["outcome"]): row["n"] for row in rows}
        except Exception:
            # A scrape must not fail because the database is away or not migrated yet.
            logger.warning("live order counts unavailable", exc_info=True)
            return
        for (venue, outcome), n in sorted(counts.items()):
            family.add_metric([venue, outcome], n)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "dsta_exchange_live_orders_unresolved",
            "Live orders whose placement outcome is not known yet (submitting or unknown).",
            labels=["venue", "outcome"],
        )


_collector: UnresolvedOrdersCollector | None = None


def register_collector() -> None:
    """Add the collector to the default registry once (from the app's ``ready``)."""
    global _collector  # one collector per process
    if _collector is None:
        _collector = UnresolvedOrdersCollector()
        REGISTRY.register(_collector)
