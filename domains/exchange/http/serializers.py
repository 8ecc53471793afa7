"""Request bodies (validated here: bad input is a 400 before anything reaches a venue) and the
shapes of the api's DTOs on the wire. Amounts, prices and balances travel as decimal strings."""

from typing import Any

from rest_framework import serializers

from domains.exchange.api import OrderSide, OrderStatus, OrderType, TimeInForce
from domains.exchange.models import LiveOrderOutcome
from domains.exchange.services.orders.selectors import MAX_OFFSET
from dsta.kernel.market import symbol_to_url

MAX_BATCH = 100


def _decimal(**kwargs: Any) -> serializers.DecimalField:
    # 38 digits, 18 decimals: the storage precision; NaN and infinities are refused.
    return serializers.DecimalField(max_digits=38, decimal_places=18, **kwargs)


class AccountChoice(serializers.Serializer):
    account_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="Default: your default account on the venue."
    )


class OrderPlaceBody(AccountChoice):
    symbol = serializers.CharField(max_length=60, help_text="BTC-USDT or BTC/USDT.")
    side = serializers.ChoiceField(choices=[s.value for s in OrderSide])
    type = serializers.ChoiceField(choices=[t.value for t in OrderType])
    amount = _decimal(help_text="In the base currency, > 0.")
    price = _decimal(required=False, allow_null=True, help_text="Limit price (limit, stop_limit).")
    stop_price = _decimal(required=False, allow_null=True, help_text="Trigger (stop_limit).")
    time_in_force = serializers.ChoiceField(
        choices=[t.value for t in TimeInForce], required=False, default=TimeInForce.GTC.value
    )
    post_only = serializers.BooleanField(required=False, default=False)
    reduce_only = serializers.BooleanField(required=False, default=False)
    client_order_id = serializers.CharField(
        required=False, allow_null=True, max_length=64, help_text="Default: one of ours."
    )


class CancelBody(AccountChoice):
    client_order_id = serializers.CharField(max_length=64)
    symbol = serializers.CharField(
        max_length=60, required=False, allow_blank=True, help_text="Needed on real venues."
    )


class BatchCancelBody(AccountChoice):
    symbol = serializers.CharField(max_length=60, required=False, allow_blank=True)
    client_order_ids = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        allow_null=True,
        max_length=MAX_BATCH,
        help_text="Default: every open order (of symbol, when given).",
    )


class OrderListQuery(AccountChoice):
    status = serializers.ChoiceField(choices=[s.value for s in OrderStatus], required=False)
    symbol = serializers.CharField(max_length=60, required=False, help_text="BTC-USDT.")
    outcome = serializers.ChoiceField(
        choices=LiveOrderOutcome.values, required=False, help_text="Live orders only."
    )
    limit = serializers.IntegerField(default=50, min_value=1, max_value=200)
    offset = serializers.IntegerField(default=0, min_value=0, max_value=MAX_OFFSET)


class FillListQuery(AccountChoice):
    symbol = serializers.CharField(max_length=60, required=False, help_text="BTC-USDT.")
    client_order_id = serializers.CharField(
        max_length=64, required=False, help_text="The fills of one order."
    )
    limit = serializers.IntegerField(default=50, min_value=1, max_value=200)
    offset = serializers.IntegerField(default=0, min_value=0, max_value=MAX_OFFSET)


class PaperAccountBody(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    venue = serializers.CharField(max_length=20, required=False, default="paper")
    balances = serializers.DictField(child=_decimal(min_value=0), help_text='{"USDT": "10000"}')
    maker_fee = _decimal(required=False, min_value=0)
    taker_fee = _decimal(required=False, min_value=0)
    latency_ms = serializers.IntegerField(required=False, min_value=0, max_value=600_000)
    slippage_bps = _decimal(required=False, min_value=0)
    default = serializers.BooleanField(required=False, default=False)


class DefaultAccountBody(serializers.Serializer):
    account_id = serializers.UUIDField()


class LiveAccountBody(serializers.Serializer):
    venue = serializers.ChoiceField(choices=["binance", "gateio", "htx"])
    name = serializers.CharField(max_length=100)
    secret_key = serializers.CharField(
        max_length=128, help_text="Your exchange_credentials secret in /api/v1/config/secrets/."
    )
    default = serializers.BooleanField(required=False, default=False)


# --- responses -------------------------------------------------------------------------------


class MoneyField(serializers.CharField):
    """A Decimal as its exact string (None stays null)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)


class OrderAckOut(serializers.Serializer):
    account_id = serializers.UUIDField()
    venue = serializers.CharField()
    symbol = serializers.CharField()
    client_order_id = serializers.CharField()
    venue_order_id = serializers.CharField(allow_null=True)
    side = serializers.CharField()
    type = serializers.CharField()
    status = serializers.CharField()
    amount = MoneyField()
    filled = MoneyField()
    remaining = MoneyField()
    price = MoneyField()
    stop_price = MoneyField()
    average_price = MoneyField()
    fee = MoneyField()
    fee_currency = serializers.CharField(allow_null=True)
    time_in_force = serializers.CharField()
    post_only = serializers.BooleanField()
    reduce_only = serializers.BooleanField()
    created_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()


class CancelFailureOut(serializers.Serializer):
    client_order_id = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class CancelResultOut(serializers.Serializer):
    canceled = OrderAckOut(many=True)
    failed = CancelFailureOut(many=True)


class BalanceOut(serializers.Serializer):
    asset = serializers.CharField()
    free = MoneyField()
    locked = MoneyField()
    total = MoneyField()


class BalancesOut(serializers.Serializer):
    account_id = serializers.UUIDField()
    venue = serializers.CharField()
    timestamp = serializers.DateTimeField()
    balances = BalanceOut(many=True)


class AccountOut(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    venue = serializers.CharField()
    name = serializers.CharField()
    is_default = serializers.BooleanField()
    enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    secret_key = serializers.CharField(help_text="Live accounts: the credentials secret's name.")


class AccountDetailOut(serializers.Serializer):
    account = AccountOut()
    balances = BalancesOut()


class TickerOut(serializers.Serializer):
    venue = serializers.CharField()
    symbol = serializers.CharField()
    timestamp = serializers.DateTimeField()
    bid = MoneyField()
    ask = MoneyField()
    last = MoneyField()
    bid_amount = MoneyField()
    ask_amount = MoneyField()
    high = MoneyField()
    low = MoneyField()
    base_volume = MoneyField()
    quote_volume = MoneyField()


class MarketOut(serializers.Serializer):
    venue = serializers.CharField()
    symbol = serializers.CharField(help_text="ccxt unified, e.g. BTC/USDT.")
    url_symbol = serializers.SerializerMethodField(help_text="The URL form: BTC-USDT.")
    venue_symbol = serializers.CharField(help_text="The venue's own id: BTCUSDT, BTC_USDT.")
    base = serializers.CharField()
    quote = serializers.CharField()
    market_type = serializers.CharField()
    active = serializers.BooleanField()
    amount_step = MoneyField(help_text="Lot size: amounts are truncated to it.")
    price_tick = MoneyField(help_text="Prices are rounded to it.")
    min_amount = MoneyField()
    max_amount = MoneyField()
    min_price = MoneyField()
    max_price = MoneyField()
    min_notional = MoneyField(help_text="Orders under amount x price refused before sending.")
    max_notional = MoneyField()
    maker_fee = MoneyField()
    taker_fee = MoneyField()

    def get_url_symbol(self, market: Any) -> str:
        return symbol_to_url(market.symbol)


class MarketListQuery(serializers.Serializer):
    quote = serializers.CharField(max_length=20, required=False, help_text="e.g. USDT.")
    active = serializers.BooleanField(required=False, default=True, help_text="Only active.")


class LevelOut(serializers.Serializer):
    price = MoneyField()
    amount = MoneyField()


class OrderBookOut(serializers.Serializer):
    venue = serializers.CharField()
    symbol = serializers.CharField()
    timestamp = serializers.DateTimeField()
    sequence = serializers.IntegerField(allow_null=True)
    bids = LevelOut(many=True)
    asks = LevelOut(many=True)


class PublicTradeOut(serializers.Serializer):
    venue = serializers.CharField()
    symbol = serializers.CharField()
    trade_id = serializers.CharField(help_text="The venue's id of the trade.")
    price = MoneyField()
    amount = MoneyField(help_text="In the base currency.")
    side = serializers.CharField(
        allow_null=True, help_text="The aggressor's (taker's) side: buy or sell; null if unknown."
    )
    timestamp = serializers.DateTimeField()


class RateLimitOut(serializers.Serializer):
    bucket = serializers.CharField()
    scope = serializers.CharField()
    unit = serializers.CharField()
    limit = serializers.FloatField()
    period_seconds = serializers.FloatField()
    in_use = serializers.FloatField()


class VenueStatusOut(serializers.Serializer):
    venue = serializers.CharField()
    enabled = serializers.BooleanField()
    state = serializers.CharField()
    breaker = serializers.CharField()
    last_success_at = serializers.DateTimeField(allow_null=True)
    last_error_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    latency_ewma_ms = serializers.FloatField(allow_null=True)
    active_host = serializers.CharField(allow_null=True)
    websocket = serializers.CharField(allow_null=True)
    limiter_backend = serializers.CharField()
    rate_limits = RateLimitOut(many=True)
    clock_offset_ms = serializers.IntegerField(
        allow_null=True, help_text="our clock minus the venue's, ms; null until measured"
    )


class HealthOut(serializers.Serializer):
    venues = VenueStatusOut(many=True)


# --- the order ledger -------------------------------------------------------------------------


class OrderRecordOut(serializers.Serializer):
    kind = serializers.CharField(help_text="paper or live.")
    account_id = serializers.UUIDField()
    venue = serializers.CharField()
    symbol = serializers.CharField()
    client_order_id = serializers.CharField()
    venue_order_id = serializers.CharField(allow_null=True)
    side = serializers.CharField()
    type = serializers.CharField()
    status = serializers.CharField(
        allow_null=True, help_text="Null while the venue has not answered (see outcome)."
    )
    outcome = serializers.CharField(
        allow_null=True,
        help_text="Live orders: submitting, acknowledged, unknown, not_found or refused.",
    )
    amount = MoneyField()
    filled = MoneyField()
    remaining = MoneyField()
    price = MoneyField()
    stop_price = MoneyField()
    average_price = MoneyField()
    fee = MoneyField()
    fee_currency = serializers.CharField(allow_null=True)
    time_in_force = serializers.CharField()
    post_only = serializers.BooleanField()
    reduce_only = serializers.BooleanField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OrderPageOut(serializers.Serializer):
    results = OrderRecordOut(many=True)
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class FillRecordOut(serializers.Serializer):
    kind = serializers.CharField(help_text="paper or live.")
    fill_id = serializers.CharField(help_text="The venue's trade id.")
    account_id = serializers.UUIDField()
    venue = serializers.CharField()
    symbol = serializers.CharField()
    client_order_id = serializers.CharField(allow_null=True)
    venue_order_id = serializers.CharField(allow_null=True)
    side = serializers.CharField()
    price = MoneyField()
    amount = MoneyField()
    notional = MoneyField(help_text="price x amount, in the quote currency.")
    fee = MoneyField()
    fee_currency = serializers.CharField(allow_null=True)
    liquidity = serializers.CharField(allow_null=True, help_text="maker or taker, when known.")
    filled_at = serializers.DateTimeField()


class FillPageOut(serializers.Serializer):
    results = FillRecordOut(many=True)
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class ReconciledOrderOut(serializers.Serializer):
    account_id = serializers.UUIDField()
    venue = serializers.CharField()
    symbol = serializers.CharField()
    client_order_id = serializers.CharField()
    result = serializers.CharField(
        help_text="resolved, updated, unchanged, not_found_yet, rejected, missing, error, "
        "venue_unavailable."
    )
    status = serializers.CharField()
    outcome = serializers.CharField()
    fills = serializers.IntegerField(help_text="New fills recorded.")
    note = serializers.CharField()


class ReconcileReportOut(serializers.Serializer):
    accounts = serializers.IntegerField()
    checked = serializers.IntegerField()
    resolved = serializers.IntegerField()
    updated = serializers.IntegerField()
    rejected = serializers.IntegerField(help_text="Declared never to have reached the venue.")
    not_found_yet = serializers.IntegerField()
    fills = serializers.IntegerField()
    venue_failures = serializers.IntegerField()
    problems = serializers.ListField(
        child=serializers.CharField(),
        source="errors",
        help_text="Why orders were left for the next run (venue unreachable, a refusal).",
    )
    orders = ReconciledOrderOut(many=True)
