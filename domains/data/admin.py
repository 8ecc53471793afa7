"""Admin pages: series coverage, quarantined rows, gaps. Candles themselves are read-only data
(composite key, millions of rows) and are not listed here; read them through the selectors."""

from datetime import UTC, datetime

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from domains.data.models import (
    BacktestResult,
    BacktestRun,
    BacktestTrade,
    DataGap,
    GapState,
    IngestionJob,
    MonteCarlo,
    Optimization,
    QuarantinedRow,
    Report,
    RunStatus,
    Series,
    WalkForward,
)
from dsta.kernel.errors import NotFound
from dsta.kernel.jobs.api import get_job
from dsta.kernel.market import Timeframe


def _when(ts_ms: int | None) -> str:
    if ts_ms is None:
        return "-"
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = (
        "venue",
        "market_type",
        "symbol",
        "price_type",
        "timeframe",
        "first_candle",
        "last_candle",
        "candle_count",
        "coverage",
        "open_gaps",
        "is_synthetic",
        "keep_up",
        "updated_at",
    )
    list_filter = ("venue", "market_type", "price_type", "timeframe", "is_synthetic", "keep_up")
    actions = ("keep_up_on", "keep_up_off")
    search_fields = ("symbol",)
    readonly_fields = (
        "venue",
        "market_type",
        "symbol",
        "price_type",
        "timeframe",
        "first_open_time",
        "last_open_time",
        "candle_count",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Series]:
        return (
            super()
            .get_queryset(request)
            .annotate(open_gap_count=Count("gaps", filter=Q(gaps__state=GapState.MISSING)))
        )

    @admin.display(description="first candle", ordering="first_open_time")
    def first_candle(self, series: Series) -> str:
        return _when(series.first_open_time)

    @admin.display(description="last candle", ordering="last_open_time")
    def last_candle(self, series: Series) -> str:
        return _when(series.last_open_time)

    @admin.display(description="coverage")
    def coverage(self, series: Series) -> str:
        """Stored bars / bars between the first and last candle."""
        if series.first_open_time is None or series.last_open_time is None:
            return "-"
        step = Timeframe(series.timeframe).ms
        expected = (series.last_open_time - series.first_open_time) // step + 1
        return f"{100 * series.candle_count / expected:.2f} %"

    @admin.display(description="open gaps", ordering="open_gap_count")
    def open_gaps(self, series: Series) -> int:
        return int(getattr(series, "open_gap_count", 0))

    @admin.action(description="Keep selected series up (fetch new candles every minute)")
    def keep_up_on(self, request: HttpRequest, queryset: QuerySet[Series]) -> None:
        updated = queryset.update(keep_up=True)
        self.message_user(request, f"{updated} series will be kept up.")

    @admin.action(description="Stop keeping selected series up")
    def keep_up_off(self, request: HttpRequest, queryset: QuerySet[Series]) -> None:
        updated = queryset.update(keep_up=False)
        self.message_user(request, f"{updated} series will no longer be kept up.")


@admin.register(QuarantinedRow)
class QuarantinedRowAdmin(admin.ModelAdmin):
    list_display = ("series", "source", "row_number", "reasons", "created_at")
    list_filter = ("series__venue", "series__timeframe")
    search_fields = ("source", "series__symbol")
    list_select_related = ("series",)
    readonly_fields = ("series", "source", "row_number", "raw", "reasons", "created_at")
    date_hierarchy = "created_at"


@admin.register(DataGap)
class DataGapAdmin(admin.ModelAdmin):
    list_display = ("series", "gap_start", "gap_end", "missing_bars", "state", "updated_at")
    list_filter = ("state", "series__venue", "series__timeframe")
    search_fields = ("series__symbol",)
    list_select_related = ("series",)
    # Only the state is a person's call (e.g. "the venue has no bars there"); the rest is measured.
    readonly_fields = ("series", "start", "end", "missing_bars", "created_at", "updated_at")

    @admin.display(description="start", ordering="start")
    def gap_start(self, gap: DataGap) -> str:
        return _when(gap.start)

    @admin.display(description="end (next bar present)", ordering="end")
    def gap_end(self, gap: DataGap) -> str:
        return _when(gap.end)


@admin.register(IngestionJob)
class IngestionJobAdmin(admin.ModelAdmin):
    """Ingestion and gap-filling jobs per series; their status lives in the kernel's job
    (cancel from the Jobs admin)."""

    list_display = (
        "created_at",
        "series",
        "mode",
        "job_status",
        "range_start",
        "range_end",
        "last_stored",
        "pages",
        "fetched",
        "inserted",
        "quarantined",
    )
    list_filter = ("mode", "series__venue", "series__timeframe")
    search_fields = ("series__symbol", "job_id")
    list_select_related = ("series",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "job_id",
        "series",
        "mode",
        "start",
        "end",
        "checkpoint",
        "pages",
        "fetched",
        "inserted",
        "quarantined",
        "owner_id",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are started through the API or manage.py sync_market_data

    @admin.display(description="status")
    def job_status(self, job: IngestionJob) -> str:
        try:
            info = get_job(job.job_id)
        except NotFound:
            return "-"
        if info.total:
            return f"{info.status.value} {info.progress:.0%}"
        return info.status.value

    @admin.display(description="from", ordering="start")
    def range_start(self, job: IngestionJob) -> str:
        return _when(job.start)

    @admin.display(description="to", ordering="end")
    def range_end(self, job: IngestionJob) -> str:
        return _when(job.end) if job.end is not None else "now"

    @admin.display(description="last stored", ordering="checkpoint")
    def last_stored(self, job: IngestionJob) -> str:
        return _when(job.checkpoint)


# --- backtesting ---------------------------------------------------------------------------------
# Runs, results and reports are made by jobs: the admin shows them (and lets a person delete
# them), it does not edit them.


def _metric(metrics: dict[str, object] | None, key: str, percent: bool = False) -> str:
    value = (metrics or {}).get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-" if value is None else str(value)
    return f"{value * 100:.2f}%" if percent else f"{value:.3f}"


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReportInline(admin.TabularInline):
    model = Report
    extra = 0
    can_delete = False
    fields = ("format", "status", "size", "download", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="file")
    def download(self, report: Report) -> str:
        return _report_link(report)


def _report_link(report: Report) -> str:
    if report.status != RunStatus.SUCCEEDED:
        return "-"
    return format_html(
        '<a href="/api/v1/analytics/reports/{}?download=true">{}</a>',
        report.id,
        report.file_name or f"{report.id}.{report.format}",
    )


@admin.register(BacktestRun)
class BacktestRunAdmin(_ReadOnly):
    list_display = (
        "created_at",
        "strategy",
        "symbols",
        "status",
        "total_return",
        "sharpe",
        "max_drawdown",
        "trades",
        "owner_id",
    )
    list_filter = ("status", "strategy", "style")
    search_fields = ("id", "strategy", "job_id")
    date_hierarchy = "created_at"
    inlines = (ReportInline,)
    readonly_fields = (
        "id",
        "owner_id",
        "job_id",
        "status",
        "strategy",
        "params",
        "series",
        "start_ms",
        "end_ms",
        "config",
        "style",
        "allow_gaps",
        "bias_checks",
        "seed",
        "metrics",
        "bias",
        "manifest",
        "error",
        "rerun_of",
        "reproduction",
        "created_at",
        "finished_at",
    )

    @admin.display(description="symbols")
    def symbols(self, run: BacktestRun) -> str:
        return ", ".join(str(s.get("symbol")) for s in run.series or [])

    @admin.display(description="return")
    def total_return(self, run: BacktestRun) -> str:
        return _metric(run.metrics, "total_return", percent=True)

    @admin.display(description="Sharpe")
    def sharpe(self, run: BacktestRun) -> str:
        return _metric(run.metrics, "sharpe")

    @admin.display(description="max DD")
    def max_drawdown(self, run: BacktestRun) -> str:
        return _metric(run.metrics, "max_drawdown", percent=True)

    @admin.display(description="trades")
    def trades(self, run: BacktestRun) -> str:
        value = (run.metrics or {}).get("trades")
        return "-" if value is None else str(value)


@admin.register(BacktestResult)
class BacktestResultAdmin(_ReadOnly):
    list_display = ("run", "bars", "symbols", "equity_sha256", "candles_sha256", "created_at")
    search_fields = ("run__id", "equity_sha256", "candles_sha256")
    list_select_related = ("run",)
    # The npz blob is not shown: megabytes of binary; read it through the API.
    exclude = ("arrays",)
    readonly_fields = ("run", "bars", "symbols", "equity_sha256", "candles_sha256", "created_at")


@admin.register(BacktestTrade)
class BacktestTradeAdmin(_ReadOnly):
    list_display = (
        "run",
        "number",
        "symbol",
        "direction",
        "entry_time",
        "entry_price",
        "exit_price",
        "pnl",
        "exit_reason",
        "is_open",
    )
    list_filter = ("exit_reason", "is_open", "direction")
    search_fields = ("run__id", "symbol")
    list_select_related = ("run",)

    @admin.display(description="entry", ordering="entry_time_ms")
    def entry_time(self, trade: BacktestTrade) -> str:
        return _when(trade.entry_time_ms)


@admin.register(Report)
class ReportAdmin(_ReadOnly):
    list_display = ("created_at", "run", "format", "status", "size", "file")
    list_filter = ("format", "status")
    search_fields = ("id", "run__id", "file_name")
    list_select_related = ("run",)
    readonly_fields = (
        "id",
        "owner_id",
        "run",
        "format",
        "job_id",
        "status",
        "file",
        "file_name",
        "size",
        "sha256",
        "error",
        "created_at",
        "finished_at",
    )

    @admin.display(description="file")
    def file(self, report: Report) -> str:
        return _report_link(report)


@admin.register(Optimization)
class OptimizationAdmin(_ReadOnly):
    list_display = ("created_at", "strategy", "method", "metric", "status", "progress", "best")
    list_filter = ("status", "method", "metric")
    search_fields = ("id", "job_id")
    exclude = ("results",)
    readonly_fields = (
        "id",
        "owner_id",
        "job_id",
        "status",
        "request",
        "method",
        "metric",
        "combinations",
        "evaluated",
        "candles_sha256",
        "best_params",
        "best_metrics",
        "robustness",
        "error",
        "created_at",
        "finished_at",
    )

    @admin.display(description="strategy")
    def strategy(self, study: Optimization) -> str:
        return str(study.request.get("strategy"))

    @admin.display(description="evaluated")
    def progress(self, study: Optimization) -> str:
        return f"{study.evaluated}/{study.combinations}"

    @admin.display(description="best")
    def best(self, study: Optimization) -> str:
        return str(study.best_params or "-")


@admin.register(WalkForward)
class WalkForwardAdmin(_ReadOnly):
    list_display = ("created_at", "strategy", "status", "windows_count", "oos_return")
    list_filter = ("status",)
    search_fields = ("id", "job_id")
    exclude = ("oos_equity",)

    @admin.display(description="strategy")
    def strategy(self, study: WalkForward) -> str:
        return str(study.request.get("strategy"))

    @admin.display(description="windows")
    def windows_count(self, study: WalkForward) -> int:
        return len(study.windows or [])

    @admin.display(description="OOS return")
    def oos_return(self, study: WalkForward) -> str:
        return _metric(study.oos_metrics, "total_return", percent=True)


@admin.register(MonteCarlo)
class MonteCarloAdmin(_ReadOnly):
    list_display = ("created_at", "run", "method", "n_sims", "seed", "status", "ruin")
    list_filter = ("status", "method")
    search_fields = ("id", "run__id")
    list_select_related = ("run",)

    @admin.display(description="P(ruin)")
    def ruin(self, study: MonteCarlo) -> str:
        return _metric(study.summary, "probability_of_ruin", percent=True)
