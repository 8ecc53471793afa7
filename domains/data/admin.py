"""Admin pages: series coverage, quarantined rows, gaps. Candles themselves are read-only data
(composite key, millions of rows) and are not listed here; read them through the selectors."""

from datetime import UTC, datetime

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from domains.data.models import DataGap, GapState, IngestionJob, QuarantinedRow, Series
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
