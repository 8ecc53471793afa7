"""Market-data tables: candles, their series, quarantined rows and known gaps.

Candles are keyed by what they are (venue, market type, symbol, price type, timeframe, open time)
with no surrogate id: TimescaleDB needs the time column inside every unique key, and a re-ingested
candle must land on the same row. ``open_time`` is a bigint of UTC milliseconds, not a timestamp
column: that is what venues send, it goes through binary COPY as a plain int8 and lands in a
numpy ``int64`` array with no conversion, and bucket arithmetic (``t - t % tf``) stays integer.

Prices and volumes are double precision: they are measurements, analysed in float64 numpy
arrays (amounts sent to a venue are Decimal, elsewhere).
"""

from typing import ClassVar

from django.db import models

from dsta.kernel.market import MarketType, PriceType, SeriesKey, Timeframe

MARKET_TYPES = [(member.value, member.value) for member in MarketType]
PRICE_TYPES = [(member.value, member.value) for member in PriceType]
TIMEFRAMES = [(code, code) for code in Timeframe.SUPPORTED]
KEY_FIELDS = ("venue", "market_type", "symbol", "price_type", "timeframe")


class Candle(models.Model):
    """One OHLCV bar. Written by ``services.store.candles_upsert`` (COPY on PostgreSQL)."""

    pk = models.CompositePrimaryKey(*KEY_FIELDS, "open_time")
    venue = models.CharField(max_length=32)
    market_type = models.CharField(max_length=8, choices=MARKET_TYPES)
    symbol = models.CharField(max_length=64)
    price_type = models.CharField(max_length=16, choices=PRICE_TYPES)
    timeframe = models.CharField(max_length=4, choices=TIMEFRAMES)
    open_time = models.BigIntegerField(help_text="bar open time, UTC milliseconds")
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    # Null for mark, index and funding-rate series, which have no traded volume.
    volume = models.FloatField(null=True)
    quote_volume = models.FloatField(null=True)
    trades = models.BigIntegerField(null=True)

    class Meta:
        db_table = "data_candle"
        constraints: ClassVar = [
            # Cheap guards for writes that bypass the store; the store checks much more.
            models.CheckConstraint(
                condition=models.Q(high__gte=models.F("low")), name="data_candle_high_gte_low"
            ),
            models.CheckConstraint(
                condition=models.Q(volume__isnull=True) | models.Q(volume__gte=0),
                name="data_candle_volume_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.timeframe} @ {self.open_time}"


class Series(models.Model):
    """One candle series and its coverage, kept in step by the store on every write."""

    venue = models.CharField(max_length=32)
    market_type = models.CharField(max_length=8, choices=MARKET_TYPES)
    symbol = models.CharField(max_length=64)
    price_type = models.CharField(max_length=16, choices=PRICE_TYPES)
    timeframe = models.CharField(max_length=4, choices=TIMEFRAMES)
    first_open_time = models.BigIntegerField(null=True, blank=True)
    last_open_time = models.BigIntegerField(null=True, blank=True)
    candle_count = models.BigIntegerField(default=0)
    # True once any candle of the series was made up (gap filling), not received from a venue.
    is_synthetic = models.BooleanField(default=False)
    # Fetch new closed candles from the venue every minute (the data.keep_up schedule).
    keep_up = models.BooleanField(
        default=False, help_text="fetch new closed candles from the venue every minute"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "series"
        constraints: ClassVar = [
            models.UniqueConstraint(fields=KEY_FIELDS, name="data_series_key_unique"),
        ]

    def __str__(self) -> str:
        return str(self.key)

    @property
    def key(self) -> SeriesKey:
        return SeriesKey.of(
            self.venue, self.market_type, self.symbol, self.price_type, self.timeframe
        )


class QuarantinedRow(models.Model):
    """An input row refused by validation, kept with its reasons instead of silently dropped."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="quarantined_rows")
    source = models.CharField(max_length=500, help_text="file path or job that sent the row")
    row_number = models.BigIntegerField(help_text="line in the file, or position in the batch")
    raw = models.JSONField()
    reasons = models.JSONField(help_text="list of reasons, one per failed check")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["series", "created_at"])]

    def __str__(self) -> str:
        return f"{self.source}:{self.row_number}"


class GapState(models.TextChoices):
    MISSING = "missing"
    VENUE_HAS_NONE = "venue_has_none"  # the venue itself has no bars there (outage, delisting)
    FILLED_SYNTHETIC = "filled_synthetic"


class DataGap(models.Model):
    """Bars missing from a series: open times in ``[start, end)``, UTC milliseconds."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="gaps")
    start = models.BigIntegerField(help_text="open time of the first missing bar, UTC ms")
    end = models.BigIntegerField(help_text="open time of the next bar present, UTC ms (exclusive)")
    missing_bars = models.BigIntegerField()
    state = models.CharField(max_length=16, choices=GapState.choices, default=GapState.MISSING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["series", "start"], name="data_gap_series_start"),
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="data_gap_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.series} [{self.start}, {self.end})"


class IngestionMode(models.TextChoices):
    BACKFILL = "backfill"
    KEEP_UP = "keep_up"  # a backfill up to now, after which the series is kept up
    FILL_GAPS = "fill_gaps"


class IngestionJob(models.Model):
    """What one ingestion job (a kernel job, ``job_id``) did to one series.

    ``checkpoint`` is the open time of the last candle the job stored, written in the same
    transaction as those candles: a job resumed after a crash continues right after it.
    """

    job_id = models.UUIDField(unique=True, help_text="the kernel job (jobs.Job) running it")
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="ingestion_jobs")
    mode = models.CharField(max_length=16, choices=IngestionMode.choices)
    start = models.BigIntegerField(help_text="first open time asked for, UTC ms")
    end = models.BigIntegerField(
        null=True, blank=True, help_text="open time to stop before, UTC ms (empty: now)"
    )
    checkpoint = models.BigIntegerField(
        null=True, blank=True, help_text="open time of the last candle stored, UTC ms"
    )
    pages = models.IntegerField(default=0, help_text="venue requests made")
    fetched = models.BigIntegerField(default=0, help_text="candles received from the venue")
    inserted = models.BigIntegerField(default=0, help_text="candles new to the store")
    quarantined = models.BigIntegerField(default=0, help_text="candles refused by validation")
    owner_id = models.BigIntegerField(null=True, blank=True, help_text="user who started it")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["series", "created_at"])]

    def __str__(self) -> str:
        return f"{self.mode} {self.series} ({self.job_id})"
