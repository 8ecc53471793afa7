"""Market-data tables: candles, their series, quarantined rows and known gaps.

Candles are keyed by what they are (venue, market type, symbol, price type, timeframe, open time)
with no surrogate id: TimescaleDB needs the time column inside every unique key, and a re-ingested
candle must land on the same row. ``open_time`` is a bigint of UTC milliseconds, not a timestamp
column: that is what venues send, it goes through binary COPY as a plain int8 and lands in a
numpy ``int64`` array with no conversion, and bucket arithmetic (``t - t % tf``) stays integer.

Prices and volumes are double precision: they are measurements, analysed in float64 numpy
arrays (amounts sent to a venue are Decimal, elsewhere).
"""

import uuid
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


# --- backtesting ---------------------------------------------------------------------------------
# Runs, their stored results and trades, reports, and the robustness studies (optimisation,
# walk-forward, Monte Carlo). Each row names its owner by user id (no foreign key into core) and
# the kernel job that computes it by id (no foreign key into the jobs app either).


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BacktestRun(models.Model):
    """One backtest: what was asked, its manifest (how to reproduce it), metrics and bias checks.

    ``series`` is the list of series keys (one per symbol, same timeframe); ``start_ms`` /
    ``end_ms`` the range asked for (None: the whole stored range). The manifest records the
    range actually used, the candles' sha256, the strategy's code hash, the engine version and
    config, so ``rerun`` can repeat it exactly. Failed runs keep ``error`` ({code, message,
    details}).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    job_id = models.UUIDField(null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    strategy = models.CharField(max_length=100)
    params = models.JSONField(default=dict)
    series = models.JSONField(
        help_text="list of {venue, market_type, symbol, price_type, timeframe}"
    )
    start_ms = models.BigIntegerField(null=True, blank=True)
    end_ms = models.BigIntegerField(null=True, blank=True)
    config = models.JSONField(default=dict, help_text="engine config (EngineConfig.to_dict)")
    style = models.CharField(max_length=16, default="auto")
    allow_gaps = models.BooleanField(default=False)
    bias_checks = models.BooleanField(default=True)
    seed = models.BigIntegerField(default=0)
    manifest = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    bias = models.JSONField(default=dict, blank=True, help_text="lookahead and warm-up checks")
    error = models.JSONField(null=True, blank=True)
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )
    reproduction = models.JSONField(
        null=True, blank=True, help_text="a rerun's comparison with the original run"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes: ClassVar = [models.Index(fields=["owner_id", "created_at"])]

    def __str__(self) -> str:
        symbols = ",".join(str(s.get("symbol")) for s in self.series or [])
        return f"{self.strategy} {symbols} ({self.id})"


class BacktestResult(models.Model):
    """The per-bar arrays of a finished run, as one compressed ``.npz`` blob.

    Members: ``timestamps`` (int64 ms), ``equity``, ``cash`` (float64), ``positions`` and
    ``close`` (bars x symbols), ``fills`` and ``orders`` (structured arrays, see
    dsta.quant.engine.result). Reads go through numpy, never per-bar rows.
    """

    run = models.OneToOneField(BacktestRun, on_delete=models.CASCADE, related_name="result")
    arrays = models.BinaryField()
    bars = models.BigIntegerField()
    symbols = models.JSONField()
    equity_sha256 = models.CharField(max_length=64)
    candles_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"result of {self.run_id}"


class BacktestTrade(models.Model):
    """One round-trip trade of a run (see dsta.quant.engine.result for the conventions)."""

    run = models.ForeignKey(BacktestRun, on_delete=models.CASCADE, related_name="trades")
    number = models.IntegerField(help_text="0-based, in the order the engine reports them")
    symbol = models.CharField(max_length=100)
    direction = models.SmallIntegerField(help_text="1 long, -1 short")
    entry_bar = models.BigIntegerField()
    exit_bar = models.BigIntegerField()
    entry_time_ms = models.BigIntegerField()
    exit_time_ms = models.BigIntegerField()
    size = models.FloatField()
    entry_price = models.FloatField()
    exit_price = models.FloatField()
    fees = models.FloatField()
    pnl = models.FloatField()
    return_pct = models.FloatField(help_text="pnl / entry value (a fraction)")
    is_open = models.BooleanField(default=False)
    exit_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ("run", "number")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["run", "number"], name="data_bt_trade_run_number"),
        ]

    def __str__(self) -> str:
        return f"trade {self.number} of {self.run_id}"


class ReportFormat(models.TextChoices):
    HTML = "html"
    PDF = "pdf"


class Report(models.Model):
    """A rendered report of a run, stored through the ``reports`` storage (local or S3)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    run = models.ForeignKey(BacktestRun, on_delete=models.CASCADE, related_name="reports")
    format = models.CharField(max_length=8, choices=ReportFormat.choices)
    job_id = models.UUIDField(null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    file_name = models.CharField(max_length=500, blank=True, help_text="name in the storage")
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.format} report of {self.run_id}"


class Optimization(models.Model):
    """A parameter search (grid, random or Bayesian) fanned out as chunks over the workers.

    ``results`` holds the best ``top`` evaluations; ``robustness`` the deflated Sharpe ratio of
    the best configuration and the probability of backtest overfitting over all of them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    job_id = models.UUIDField(null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    request = models.JSONField(help_text="the validated request (strategy, space, series...)")
    method = models.CharField(max_length=16)
    metric = models.CharField(max_length=32)
    combinations = models.IntegerField(default=0)
    evaluated = models.IntegerField(default=0)
    candles_sha256 = models.CharField(max_length=64, blank=True)
    best_params = models.JSONField(null=True, blank=True)
    best_metrics = models.JSONField(null=True, blank=True)
    results = models.JSONField(default=list, blank=True)
    robustness = models.JSONField(default=dict, blank=True)
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.method} search of {self.request.get('strategy')} ({self.id})"


class ChunkStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OptimizationChunk(models.Model):
    """A unit of fanned-out backtest work, evaluated by whichever worker claims it first (a
    chunk message, or the parent job itself when it is idle).

    It belongs to exactly one parent: an optimisation (a slice of its parameter combinations)
    or a walk-forward (one window: the in-sample search over ``combos`` on the training bars,
    then the best configuration on the test bars; ``window`` holds the bar indices).
    """

    optimization = models.ForeignKey(
        Optimization, null=True, blank=True, on_delete=models.CASCADE, related_name="chunks"
    )
    walk_forward = models.ForeignKey(
        "WalkForward", null=True, blank=True, on_delete=models.CASCADE, related_name="chunks"
    )
    window = models.JSONField(
        null=True,
        blank=True,
        help_text="walk-forward: {number, train_start, test_start, test_end} (bar indices)",
    )
    number = models.IntegerField()
    round = models.IntegerField(default=0, help_text="Bayesian search: the proposal round")
    combos = models.JSONField(help_text="list of parameter dicts")
    status = models.CharField(
        max_length=16, choices=ChunkStatus.choices, default=ChunkStatus.PENDING
    )
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    done = models.IntegerField(default=0)
    evaluations = models.JSONField(default=list, blank=True, help_text="[{params, metrics}]")
    returns = models.BinaryField(null=True, blank=True, help_text="npz: period returns per combo")
    error = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ("optimization", "number")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["optimization", "number"], name="data_opt_chunk_number"
            ),
            models.UniqueConstraint(fields=["walk_forward", "number"], name="data_wf_chunk_number"),
            models.CheckConstraint(
                condition=models.Q(optimization__isnull=False, walk_forward__isnull=True)
                | models.Q(optimization__isnull=True, walk_forward__isnull=False),
                name="data_chunk_one_parent",
            ),
        ]

    def __str__(self) -> str:
        return f"chunk {self.number} of {self.optimization_id or self.walk_forward_id}"


class WalkForward(models.Model):
    """Rolling in-sample optimisation / out-of-sample test, with the stitched OOS equity."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    job_id = models.UUIDField(null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    request = models.JSONField()
    windows = models.JSONField(default=list, blank=True)
    oos_metrics = models.JSONField(default=dict, blank=True)
    oos_equity = models.BinaryField(null=True, blank=True, help_text="npz: timestamps, equity")
    candles_sha256 = models.CharField(max_length=64, blank=True)
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"walk-forward of {self.request.get('strategy')} ({self.id})"


class MonteCarlo(models.Model):
    """A Monte Carlo study of one run: trade reshuffle / bootstrap or a bootstrap of returns."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    job_id = models.UUIDField(null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    run = models.ForeignKey(BacktestRun, on_delete=models.CASCADE, related_name="monte_carlos")
    method = models.CharField(max_length=32)
    n_sims = models.IntegerField()
    seed = models.BigIntegerField(default=0)
    ruin_level = models.FloatField(default=0.5)
    block = models.IntegerField(default=1)
    summary = models.JSONField(default=dict, blank=True)
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.method} Monte Carlo of {self.run_id}"
