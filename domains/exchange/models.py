"""The exchange domain's tables (private: no other domain ever sees these models).

Paper exchange state: accounts with their starting balances and settings, balances, orders
(with the funds each still holds locked), fills, and per (venue, symbol) the market rules and
the last order book the engine matched against. Amounts are exact decimals on every database.
"""

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q

from domains.exchange.api import (
    Liquidity,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from domains.exchange.fields import ExactDecimalField


def _choices(enum: type) -> list[tuple[str, str]]:
    return [(member.value, member.value) for member in enum]  # type: ignore[attr-defined]


class PaperAccount(models.Model):
    """A simulated exchange account. ``starting_balances`` is fixed at creation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The owning user's id in the core domain: an id, not a foreign key across domains.
    owner_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    name = models.CharField(max_length=100)
    venue = models.CharField(max_length=20, default="paper")
    starting_balances = models.JSONField(default=dict, help_text="{asset: amount} at creation.")
    maker_fee = ExactDecimalField(default=Decimal("0.001"))
    taker_fee = ExactDecimalField(default=Decimal("0.001"))
    latency_ms = models.PositiveIntegerField(default=0)
    slippage_bps = ExactDecimalField(default=Decimal(0))
    market_buy_buffer_bps = ExactDecimalField(default=Decimal(100))
    # The owner's default account on its venue, used when a request names none (at most one
    # per (owner, venue) over paper and live accounts: services.accounts keeps it so).
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at",)
        constraints = (
            models.UniqueConstraint(
                fields=("owner_id", "venue"),
                condition=Q(is_default=True),
                name="paper_account_one_default",
            ),
        )

    def __str__(self) -> str:
        return f"{self.name} ({self.venue}, paper)"


class PaperBalance(models.Model):
    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="balances")
    asset = models.CharField(max_length=20)
    free = ExactDecimalField(default=Decimal(0))
    locked = ExactDecimalField(default=Decimal(0))

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("account", "asset"), name="paper_balance_unique_asset"),
            models.CheckConstraint(condition=Q(free__gte=0), name="paper_balance_free_gte_0"),
            models.CheckConstraint(condition=Q(locked__gte=0), name="paper_balance_locked_gte_0"),
        )

    def __str__(self) -> str:
        return f"{self.asset}: {self.free} free, {self.locked} locked"


class PaperMarket(models.Model):
    """A market the paper exchange simulates: its rules and the book it last matched against."""

    venue = models.CharField(max_length=20)
    symbol = models.CharField(max_length=60)
    rules = models.JSONField(help_text="The MarketInfo, decimals as strings.")
    book_bids = models.JSONField(default=list, help_text="[[price, amount], ...] best first.")
    book_asks = models.JSONField(default=list, help_text="[[price, amount], ...] best first.")
    book_timestamp = models.DateTimeField(null=True, blank=True)
    book_sequence = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("venue", "symbol"), name="paper_market_unique"),
        )

    def __str__(self) -> str:
        return f"{self.symbol} on {self.venue} (paper)"


class PaperOrder(models.Model):
    venue_order_id = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="orders")
    client_order_id = models.CharField(max_length=64)
    symbol = models.CharField(max_length=60)
    side = models.CharField(max_length=4, choices=_choices(OrderSide))
    type = models.CharField(max_length=12, choices=_choices(OrderType))
    time_in_force = models.CharField(max_length=3, choices=_choices(TimeInForce))
    amount = ExactDecimalField()
    price = ExactDecimalField(null=True, blank=True)
    stop_price = ExactDecimalField(null=True, blank=True)
    post_only = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=_choices(OrderStatus), db_index=True)
    filled = ExactDecimalField(default=Decimal(0))
    cost = ExactDecimalField(default=Decimal(0), help_text="Sum of price * amount over the fills.")
    fee = ExactDecimalField(default=Decimal(0))
    fee_currency = models.CharField(max_length=20)
    reserve_asset = models.CharField(max_length=20)
    reserved = ExactDecimalField(
        default=Decimal(0), help_text="Funds this order still holds locked."
    )
    arrived = models.BooleanField(default=False)
    triggered = models.BooleanField(default=False)
    reason = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    active_at = models.DateTimeField(help_text="When it reaches the venue (created + latency).")

    class Meta:
        ordering = ("created_at", "id")
        constraints = (
            models.UniqueConstraint(
                fields=("account", "client_order_id"), name="paper_order_unique_client_id"
            ),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="paper_order_reserved_gte_0"),
        )
        indexes = (models.Index(fields=("symbol", "status"), name="paper_order_symbol_status"),)

    def __str__(self) -> str:
        return f"{self.client_order_id} {self.side} {self.amount} {self.symbol} ({self.status})"


class PaperFill(models.Model):
    fill_id = models.CharField(max_length=64, unique=True)
    order = models.ForeignKey(PaperOrder, on_delete=models.CASCADE, related_name="fills")
    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="fills")
    symbol = models.CharField(max_length=60)
    side = models.CharField(max_length=4, choices=_choices(OrderSide))
    price = ExactDecimalField()
    amount = ExactDecimalField()
    fee = ExactDecimalField()
    fee_currency = models.CharField(max_length=20)
    liquidity = models.CharField(max_length=5, choices=_choices(Liquidity))
    filled_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ("filled_at", "id")

    def __str__(self) -> str:
        return f"{self.side} {self.amount} {self.symbol} @ {self.price}"


class LiveAccount(models.Model):
    """A user's account on a real venue. Its credentials live in core's encrypted secrets,
    under ``secret_key`` of the owner (``exchange_credentials``); we keep only that name."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_id = models.BigIntegerField(db_index=True)  # core's user id, not a foreign key
    venue = models.CharField(max_length=20, choices=[(v, v) for v in ("binance", "gateio", "htx")])
    name = models.CharField(max_length=100)
    secret_key = models.CharField(
        max_length=128, help_text="Key of the owner's exchange_credentials secret in core."
    )
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at",)
        constraints = (
            models.UniqueConstraint(
                fields=("owner_id", "venue"),
                condition=Q(is_default=True),
                name="live_account_one_default",
            ),
            models.UniqueConstraint(fields=("owner_id", "venue", "name"), name="live_account_name"),
        )

    def __str__(self) -> str:
        return f"{self.name} ({self.venue}, live)"


class ExchangeConfig(models.Model):
    """An admin's settings of one venue, over the defaults in ``services/resilience/venues.py``.

    ``rate_limits``: ``{bucket: {"limit": units, "period": seconds}}`` (e.g.
    ``{"request_weight": {"limit": 3000, "period": 60}}`` to use half of Binance's budget);
    ``hosts``: the API hosts to use, primary first (empty: the venue's documented ones).
    """

    venue = models.CharField(max_length=20, unique=True)
    enabled = models.BooleanField(default=True, help_text="Off: every call fails at once.")
    rate_limits = models.JSONField(default=dict, blank=True)
    hosts = models.JSONField(default=list, blank=True, help_text="API hosts, primary first.")
    max_wait_seconds = models.FloatField(
        default=10.0, help_text="How long a request may queue for rate-limit tokens."
    )
    breaker_failure_threshold = models.PositiveIntegerField(default=5)
    breaker_window_seconds = models.FloatField(default=30.0)
    breaker_cooldown_seconds = models.FloatField(default=30.0)
    timeout_ms = models.PositiveIntegerField(default=10_000)
    log_requests = models.BooleanField(
        default=True, help_text="Keep a redacted log of every request and response."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "exchange config"

    def __str__(self) -> str:
        return f"{self.venue} settings"


class ExchangeRequestLog(models.Model):
    """One HTTP request to a venue and its response, secrets redacted before they get here."""

    venue = models.CharField(max_length=20, db_index=True)
    account_id = models.UUIDField(null=True, blank=True, db_index=True)
    method = models.CharField(max_length=8)
    url = models.TextField()
    endpoint = models.CharField(max_length=120, blank=True, default="")  # ccxt's api/path
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField(blank=True, default="")
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.TextField(blank=True, default="")
    error = models.CharField(max_length=300, blank=True, default="")
    latency_ms = models.FloatField(default=0)
    cost = models.JSONField(default=dict, help_text="Units charged per rate-limit bucket.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.method} {self.url} -> {self.status or self.error}"


# --- the live order ledger (services/orders/ledger.py is the only writer) ----------------------


class LiveOrderOutcome(models.TextChoices):
    """Where the ledger stands on an order, beside the venue's own ``status``."""

    SUBMITTING = "submitting", "intent recorded, no answer yet"
    ACKNOWLEDGED = "acknowledged", "the venue told us its state"
    UNKNOWN = "unknown", "placement outcome unknown: the reconciler looks it up"
    NOT_FOUND = "not_found", "looked up repeatedly, never found: declared rejected"
    REFUSED = "refused", "refused by the venue, or never sent (breaker open, venue off)"


class LiveOrder(models.Model):
    """One order of a live account, as far as we know it: the intent is written before the
    create request leaves, the venue's answers (placement, lookups, cancels, streams) are
    merged in monotonically. ``status`` stays empty until the venue has said anything."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(LiveAccount, on_delete=models.PROTECT, related_name="orders")
    venue = models.CharField(max_length=20)
    symbol = models.CharField(max_length=60)
    client_order_id = models.CharField(max_length=64)
    venue_order_id = models.CharField(max_length=64, blank=True, default="")
    side = models.CharField(max_length=4, choices=_choices(OrderSide))
    type = models.CharField(max_length=12, choices=_choices(OrderType))
    time_in_force = models.CharField(max_length=3, choices=_choices(TimeInForce), default="GTC")
    post_only = models.BooleanField(default=False)
    reduce_only = models.BooleanField(default=False)
    amount = ExactDecimalField()
    price = ExactDecimalField(null=True, blank=True)
    stop_price = ExactDecimalField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=_choices(OrderStatus), blank=True, default="", db_index=True
    )
    filled = ExactDecimalField(default=Decimal(0))
    average_price = ExactDecimalField(null=True, blank=True)
    fee = ExactDecimalField(default=Decimal(0))
    fee_currency = models.CharField(max_length=20, blank=True, default="")
    reason = models.CharField(max_length=200, blank=True, default="")
    outcome = models.CharField(
        max_length=12,
        choices=LiveOrderOutcome.choices,
        default=LiveOrderOutcome.SUBMITTING,
        db_index=True,
    )
    lookup_attempts = models.PositiveIntegerField(
        default=0, help_text="Reconciler lookups the venue answered with 'no such order'."
    )
    last_checked_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A reconciler run holds this order until then."
    )
    venue_created_at = models.DateTimeField(null=True, blank=True)
    venue_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("created_at", "id")
        constraints = (
            models.UniqueConstraint(
                fields=("account", "client_order_id"), name="live_order_unique_client_id"
            ),
        )
        indexes = (
            models.Index(
                fields=("account", "symbol", "venue_order_id"), name="live_order_venue_id"
            ),
            models.Index(fields=("outcome", "status"), name="live_order_outcome_status"),
        )

    def __str__(self) -> str:
        state = self.status or self.outcome
        return f"{self.client_order_id} {self.side} {self.amount} {self.symbol} ({state})"


class LiveFill(models.Model):
    """One execution of a live order, recorded once. Trade ids are unique per market on
    Binance and HTX, and one trade between two of our accounts (or a self-trade) shows the
    same id on both sides: the key is (account, symbol, side, fill_id), which for one account
    and one venue is the (venue, trade id) dedupe the events promise."""

    account = models.ForeignKey(LiveAccount, on_delete=models.PROTECT, related_name="fills")
    order = models.ForeignKey(
        LiveOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="fills"
    )
    venue = models.CharField(max_length=20)
    symbol = models.CharField(max_length=60)
    fill_id = models.CharField(max_length=64)
    client_order_id = models.CharField(max_length=64, blank=True, default="")
    venue_order_id = models.CharField(max_length=64, blank=True, default="")
    side = models.CharField(max_length=4, choices=_choices(OrderSide))
    price = ExactDecimalField()
    amount = ExactDecimalField()
    fee = ExactDecimalField(default=Decimal(0))
    fee_currency = models.CharField(max_length=20, blank=True, default="")
    liquidity = models.CharField(max_length=5, choices=_choices(Liquidity), blank=True, default="")
    filled_at = models.DateTimeField(db_index=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("filled_at", "id")
        constraints = (
            models.UniqueConstraint(
                fields=("account", "symbol", "side", "fill_id"), name="live_fill_unique"
            ),
        )
        indexes = (
            models.Index(fields=("account", "symbol", "venue_order_id"), name="live_fill_order"),
        )

    def __str__(self) -> str:
        return f"{self.side} {self.amount} {self.symbol} @ {self.price} ({self.fill_id})"
