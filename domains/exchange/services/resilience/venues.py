"""Each venue's rate limits (in its own units), hosts, breaker and retry settings.

Defaults come from the venues' API docs; an admin overrides them per venue in
``ExchangeConfig`` (see ``config.py``).

**Costs.** ccxt's api definitions give each endpoint a ``cost`` (and, for Binance, a cost by
``limit`` or by whether a symbol is given: ``byLimit``/``noSymbol``); ``fetch2`` computes it for
every request, and the cost rules below turn it into the venue's units:

- Binance spot: ccxt states every ``/api/v3`` endpoint as ``cost = 0.2 * request weight`` (its
  comment: "1 IP (api) => cost = 0.2 => (1000 / (50 * 0.2)) * 60 = 6000" per minute), so the
  weight is ``cost * 5``: ``GET /api/v3/depth?limit=100`` 5, ``GET /api/v3/order`` 4,
  ``POST /api/v3/order`` 1, ``GET /api/v3/account`` 20. The IP limit is 6000 weight per minute
  (``REQUEST_WEIGHT`` in ``exchangeInfo.rateLimits``); each account may send 100 new orders
  per 10 seconds (``ORDERS``).
- Gate.io: ccxt's costs are in requests of the default "200 requests per 10 s" budget; spot
  order placement is limited per user (10 per second).
- HTX: ccxt's costs are in requests of 10 per second (``rateLimit`` 100 ms); order placement
  is limited per user (100 per 2 seconds).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from domains.exchange.adapters.ccxt_hooks import OutgoingRequest
from domains.exchange.services.resilience.breaker import BreakerSettings
from domains.exchange.services.resilience.ratelimit import Bucket, Charge
from domains.exchange.services.resilience.retry import RetryPolicy

Scope = Literal["venue", "credential"]
CostRule = Callable[[OutgoingRequest], Mapping[str, float]]


@dataclass(frozen=True)
class BucketSpec:
    """One limit of a venue: per venue (all our processes, one IP budget) or per credential."""

    name: str
    scope: Scope
    unit: str
    limit: float
    period: float  # seconds
    burst_fraction: float = 0.2

    def bucket(self, venue: str, credential_id: str | None) -> Bucket | None:
        """The storage bucket for a request, or None for a credential limit on a public call."""
        if self.scope == "venue":
            key = f"{venue}:{self.name}"
        elif credential_id:
            key = f"{venue}:cred:{credential_id}:{self.name}"
        else:
            return None
        return Bucket(key, self.limit, self.period, self.burst_fraction)


@dataclass(frozen=True)
class VenueSettings:
    """Everything resilience needs to know about one venue, defaults merged with overrides."""

    venue: str
    buckets: tuple[BucketSpec, ...]
    costs: CostRule = field(compare=False)
    hosts: tuple[str, ...] = ()  # primary first, then alternates
    enabled: bool = True
    breaker: BreakerSettings = field(default_factory=BreakerSettings)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_wait: float = 10.0  # seconds a request may queue for rate-limit tokens
    timeout_ms: int = 10_000  # ccxt's per-request timeout
    log_requests: bool = True
    # Seconds between measurements of the venue's clock offset (adapters/ccxt_clock.py), the
    # first at a client's first call; 0: only after the venue refuses a request's timestamp.
    clock_check_interval: float = 3600.0

    def charges(self, request: OutgoingRequest) -> list[Charge]:
        """What ``request`` costs in each of this venue's buckets that applies to it."""
        costs = self.costs(request)
        charges = []
        for spec in self.buckets:
            cost = costs.get(spec.name)
            bucket = spec.bucket(self.venue, request.credential_id) if cost else None
            if bucket is not None and cost:
                charges.append(Charge(bucket, cost))
        return charges


# Binance endpoints that count against the account's ORDERS limit (new orders).
_BINANCE_ORDER_PATHS = frozenset(
    {"order", "order/oco", "orderList/oco", "orderList/oto", "orderList/otoco", "sor/order"}
)


def binance_costs(request: OutgoingRequest) -> dict[str, float]:
    """Request weight = ccxt cost * 5 (see the module docstring); new orders count 1 each."""
    costs = {"request_weight": round(request.ccxt_cost * 5, 6)}
    new_order = request.method == "POST" and request.path in _BINANCE_ORDER_PATHS
    if request.api == "private" and new_order:
        costs["orders"] = 1.0
    return costs


def gateio_costs(request: OutgoingRequest) -> dict[str, float]:
    """ccxt's cost is already in requests; a spot order placement counts 1 for the user."""
    costs = {"requests": request.ccxt_cost}
    if request.method == "POST" and request.path in ("spot/orders", "orders", "spot/batch_orders"):
        costs["orders"] = 1.0
    return costs


def htx_costs(request: OutgoingRequest) -> dict[str, float]:
    """ccxt's cost is in requests of 10/s; an order placement counts 1 for the user."""
    costs = {"requests": request.ccxt_cost}
    if request.method == "POST" and request.path in ("order/orders/place", "order/batch-orders"):
        costs["orders"] = 1.0
    return costs


DEFAULTS: dict[str, VenueSettings] = {
    "binance": VenueSettings(
        venue="binance",
        buckets=(
            BucketSpec("request_weight", "venue", "Binance request weight", 6000, 60),
            BucketSpec("orders", "credential", "orders", 100, 10),
        ),
        costs=binance_costs,
        hosts=(
            "api.binance.com",
            "api1.binance.com",
            "api2.binance.com",
            "api3.binance.com",
            "api4.binance.com",
            "api-gcp.binance.com",
        ),
    ),
    "gateio": VenueSettings(
        venue="gateio",
        buckets=(
            BucketSpec("requests", "venue", "requests", 200, 10),
            BucketSpec("orders", "credential", "orders", 10, 1),
        ),
        costs=gateio_costs,
        hosts=("api.gateio.ws",),
    ),
    "htx": VenueSettings(
        venue="htx",
        buckets=(
            BucketSpec("requests", "venue", "requests", 100, 10),
            BucketSpec("orders", "credential", "orders", 100, 2),
        ),
        costs=htx_costs,
        hosts=("api.huobi.pro", "api-aws.huobi.pro"),
    ),
}
