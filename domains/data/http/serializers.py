"""Request and response shapes of ``/api/v1/market-data/``.

Times in queries and bodies are ISO-8601 (``2024-01-01T00:00:00Z``; without an offset they are
read as UTC; a bare date is its midnight UTC) or integer UTC milliseconds.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from domains.data.api import MAX_CANDLES_PER_READ
from domains.data.models import IngestionMode
from domains.data.services.moments import parse_moment
from domains.data.services.serving import DEFAULT_LIMIT
from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import MarketType, PriceType, Timeframe

MARKET_TYPES = [member.value for member in MarketType]
PRICE_TYPES = [member.value for member in PriceType]


@extend_schema_field(
    {
        "type": "string",
        "description": "ISO-8601 (no offset: UTC; a date: its midnight) or UTC milliseconds",
        "example": "2024-01-01T00:00:00Z",
    }
)
class MomentField(serializers.Field):
    """A point in time as UTC milliseconds, from ISO-8601 text or an integer of ms."""

    def to_internal_value(self, data: Any) -> int:
        try:
            return parse_moment(str(data), name=self.field_name or "time")
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.message) from None

    def to_representation(self, value: int) -> int:
        return value


class TimeframeField(serializers.CharField):
    """A supported timeframe code (``1m``, ``1h``...)."""

    def to_internal_value(self, data: Any) -> str:
        code = super().to_internal_value(data)
        if code not in Timeframe.SUPPORTED:
            raise serializers.ValidationError(
                f"unknown timeframe {code!r}; use one of {', '.join(Timeframe.SUPPORTED)}"
            )
        return code


class SeriesFields(serializers.Serializer[Any]):
    """What names one market: venue, market type, price type (the symbol is in the path)."""

    venue = serializers.CharField(max_length=32)
    market_type = serializers.ChoiceField(choices=MARKET_TYPES, default="spot")
    price_type = serializers.ChoiceField(choices=PRICE_TYPES, default="trades")


class OhlcvQuerySerializer(SeriesFields):
    timeframe = TimeframeField(
        help_text="any stored timeframe, or a coarser one made of whole stored bars "
        "(resampled on the fly; incomplete buckets have complete=false)"
    )
    start = MomentField(required=False, help_text="first open time (inclusive)")
    end = MomentField(required=False, help_text="open time to stop before (exclusive)")
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_CANDLES_PER_READ, default=DEFAULT_LIMIT
    )
    cursor = serializers.IntegerField(
        required=False, min_value=0, help_text="next_cursor of the previous page"
    )
    format = serializers.ChoiceField(choices=["json", "csv"], default="json")


class SeriesListQuerySerializer(serializers.Serializer[Any]):
    venue = serializers.CharField(required=False, max_length=32)
    symbol = serializers.CharField(required=False, max_length=64, help_text="BTC-USDT or BTC/USDT")
    timeframe = TimeframeField(required=False)
    market_type = serializers.ChoiceField(choices=MARKET_TYPES, required=False)
    price_type = serializers.ChoiceField(choices=PRICE_TYPES, required=False)
    synthetic = serializers.BooleanField(required=False, allow_null=True, default=None)


class GapsQuerySerializer(SeriesListQuerySerializer):
    start = MomentField(required=False)
    end = MomentField(required=False)


class SeriesBodySerializer(SeriesFields):
    symbol = serializers.CharField(max_length=64, help_text="BTC/USDT or BTC-USDT")
    timeframe = TimeframeField()


class SyncBodySerializer(SeriesBodySerializer):
    start = MomentField(help_text="first open time to fetch")
    end = MomentField(required=False, allow_null=True, default=None, help_text="default: now")
    mode = serializers.ChoiceField(
        choices=[IngestionMode.BACKFILL.value, IngestionMode.KEEP_UP.value],
        default=IngestionMode.BACKFILL.value,
        help_text="keep_up also fetches new closed candles every minute afterwards",
    )


class GapFillBodySerializer(SeriesBodySerializer):
    start = MomentField(required=False, allow_null=True, default=None)
    end = MomentField(required=False, allow_null=True, default=None)
    synthesize = serializers.BooleanField(
        default=False,
        help_text="forward-fill what the venue does not have (flat bars, zero volume, "
        "flagged synthetic); never done unless asked",
    )


class OrderBookQuerySerializer(serializers.Serializer[Any]):
    venue = serializers.CharField(max_length=32)
    depth = serializers.IntegerField(required=False, min_value=1, max_value=5000)


# --- responses (for the OpenAPI schema) -------------------------------------------------------


class SeriesSerializer(serializers.Serializer[Any]):
    venue = serializers.CharField()
    market_type = serializers.CharField()
    symbol = serializers.CharField()
    url_symbol = serializers.CharField()
    price_type = serializers.CharField()
    timeframe = serializers.CharField()
    first_open_time = serializers.DateTimeField(allow_null=True)
    last_open_time = serializers.DateTimeField(allow_null=True)
    candle_count = serializers.IntegerField()
    expected_count = serializers.IntegerField()
    coverage = serializers.FloatField()
    open_gaps = serializers.IntegerField()
    synthetic = serializers.BooleanField()
    keep_up = serializers.BooleanField()


class SeriesListSerializer(serializers.Serializer[Any]):
    results = SeriesSerializer(many=True)


class CandleSerializer(serializers.Serializer[Any]):
    open_time = serializers.IntegerField(help_text="UTC ms")
    time = serializers.CharField(help_text="open time, ISO-8601 UTC")
    open = serializers.FloatField()
    high = serializers.FloatField()
    low = serializers.FloatField()
    close = serializers.FloatField()
    volume = serializers.FloatField(allow_null=True)
    quote_volume = serializers.FloatField(allow_null=True)
    trades = serializers.IntegerField(allow_null=True)
    complete = serializers.BooleanField()
    synthetic = serializers.BooleanField()


class OhlcvSeriesSerializer(serializers.Serializer[Any]):
    venue = serializers.CharField()
    market_type = serializers.CharField()
    symbol = serializers.CharField()
    url_symbol = serializers.CharField()
    price_type = serializers.CharField()
    timeframe = serializers.CharField()
    source_timeframe = serializers.CharField()


class OhlcvResponseSerializer(serializers.Serializer[Any]):
    series = OhlcvSeriesSerializer()
    synthetic = serializers.BooleanField()
    resampled = serializers.BooleanField()
    count = serializers.IntegerField()
    next_cursor = serializers.IntegerField(allow_null=True)
    candles = CandleSerializer(many=True)


class GapSerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(help_text="the next bar present (exclusive)")
    start_ms = serializers.IntegerField()
    end_ms = serializers.IntegerField()
    missing_bars = serializers.IntegerField()
    state = serializers.CharField()


class SeriesGapsSerializer(serializers.Serializer[Any]):
    series = SeriesSerializer()
    gap_count = serializers.IntegerField()
    missing_bars = serializers.IntegerField()
    gaps = GapSerializer(many=True)


class GapsResponseSerializer(serializers.Serializer[Any]):
    results = SeriesGapsSerializer(many=True)


class JobAcceptedSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    status = serializers.CharField()
    url = serializers.CharField(help_text="follow it here: GET /api/v1/jobs/{id}/")


class OrderBookSerializer(serializers.Serializer[Any]):
    venue = serializers.CharField()
    symbol = serializers.CharField()
    timestamp = serializers.DateTimeField()
    sequence = serializers.IntegerField(allow_null=True)
    bids = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()), help_text="[price, amount]"
    )
    asks = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()), help_text="[price, amount]"
    )
