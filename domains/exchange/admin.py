"""Admin of the exchange domain.

Paper exchange: accounts are editable (settings only), the rest is read-only. Balances, orders
and fills change only through the paper exchange's service (locks and fills must stay
consistent); an account is created with ``manage.py paper_account create`` so its starting
balances are set once.

Venues: ``ExchangeConfig`` (enabled, rate limits, hosts, breaker, request log) per venue, with a
read-only status page (breaker, health, rate-limit use); live accounts, which name a secret in
core (its value is never here); the request/response log (read-only, secrets redacted).
The live order ledger (orders and fills) is read-only: only the ledger service writes it.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from domains.exchange.models import (
    ExchangeConfig,
    ExchangeRequestLog,
    LiveAccount,
    LiveFill,
    LiveOrder,
    PaperAccount,
    PaperBalance,
    PaperFill,
    PaperMarket,
    PaperOrder,
)
from domains.exchange.services.resilience.config import SettingsSource, defaults_of
from domains.exchange.services.resilience.runtime import default_runtime
from domains.exchange.services.resilience.venues import DEFAULTS


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PaperBalanceInline(admin.TabularInline):
    model = PaperBalance
    fields = ("asset", "free", "locked")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PaperAccount)
class PaperAccountAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "venue",
        "owner_id",
        "maker_fee",
        "taker_fee",
        "latency_ms",
        "created_at",
    )
    list_filter = ("venue",)
    search_fields = ("name", "id")
    fields = (
        "id",
        "name",
        "owner_id",
        "venue",
        "starting_balances",
        "maker_fee",
        "taker_fee",
        "latency_ms",
        "slippage_bps",
        "market_buy_buffer_bps",
        "created_at",
    )
    readonly_fields = ("id", "venue", "starting_balances", "created_at")
    inlines = (PaperBalanceInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # starting balances are set once, by the service


@admin.register(PaperOrder)
class PaperOrderAdmin(ReadOnlyAdmin):
    list_display = (
        "client_order_id",
        "account",
        "symbol",
        "side",
        "type",
        "status",
        "amount",
        "filled",
        "price",
        "created_at",
    )
    list_filter = ("status", "side", "type", "symbol")
    search_fields = ("client_order_id", "venue_order_id")
    list_select_related = ("account",)


@admin.register(PaperFill)
class PaperFillAdmin(ReadOnlyAdmin):
    list_display = (
        "fill_id",
        "account",
        "symbol",
        "side",
        "price",
        "amount",
        "fee",
        "liquidity",
        "filled_at",
    )
    list_filter = ("side", "liquidity", "symbol")
    search_fields = ("fill_id", "order__client_order_id")
    list_select_related = ("account",)


@admin.register(PaperMarket)
class PaperMarketAdmin(ReadOnlyAdmin):
    list_display = ("symbol", "venue", "book_timestamp", "updated_at")
    list_filter = ("venue",)
    search_fields = ("symbol",)


# --- venues -------------------------------------------------------------------------------------


class ExchangeConfigForm(forms.ModelForm):
    venue = forms.ChoiceField(choices=[(v, v) for v in sorted(DEFAULTS)])

    class Meta:
        model = ExchangeConfig
        fields = (
            "venue",
            "enabled",
            "rate_limits",
            "hosts",
            "max_wait_seconds",
            "breaker_failure_threshold",
            "breaker_window_seconds",
            "breaker_cooldown_seconds",
            "timeout_ms",
            "log_requests",
        )

    def clean_rate_limits(self) -> dict[str, Any]:
        limits = self.cleaned_data.get("rate_limits") or {}
        venue = self.data.get("venue") or (self.instance.venue if self.instance.pk else "")
        known = {spec.name for spec in defaults_of(venue).buckets} if venue in DEFAULTS else set()
        if not isinstance(limits, dict):
            raise forms.ValidationError('use {"bucket": {"limit": units, "period": seconds}}')
        for name, value in limits.items():
            if known and name not in known:
                raise forms.ValidationError(
                    f"{venue} has no bucket {name!r}; it has {sorted(known)}"
                )
            if not isinstance(value, dict) or not all(
                isinstance(value.get(k), int | float) and value[k] > 0 for k in ("limit", "period")
            ):
                raise forms.ValidationError(f"{name}: give a positive limit and period (seconds)")
        return limits

    def clean_hosts(self) -> list[str]:
        hosts = self.cleaned_data.get("hosts") or []
        if not isinstance(hosts, list) or not all(
            isinstance(h, str) and h and "/" not in h and " " not in h for h in hosts
        ):
            raise forms.ValidationError('a list of host names: ["api.binance.com", ...]')
        return hosts


@admin.register(ExchangeConfig)
class ExchangeConfigAdmin(admin.ModelAdmin):
    form = ExchangeConfigForm
    list_display = ("venue", "enabled", "breaker_state", "max_wait_seconds", "log_requests")
    readonly_fields = ("connection_status", "updated_at")
    change_list_template = "admin/exchange/exchangeconfig/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        status = path(
            "status/",
            self.admin_site.admin_view(self.status_view),
            name="exchange_exchangeconfig_status",
        )
        return [status, *super().get_urls()]

    def status_view(self, request: HttpRequest) -> TemplateResponse:
        """Read-only: every venue's breaker, health and rate-limit use (this process's view
        of health; the breaker and rate limits are the shared ones)."""
        runtime = default_runtime()
        context = {
            **self.admin_site.each_context(request),
            "title": "Exchange connection and rate-limit status",
            "statuses": [runtime.venue(venue).status() for venue in sorted(DEFAULTS)],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/exchange/status.html", context)

    @admin.display(description="breaker")
    def breaker_state(self, obj: ExchangeConfig) -> str:
        return default_runtime().venue(obj.venue).breaker.state().value

    @admin.display(description="status")
    def connection_status(self, obj: ExchangeConfig) -> str:
        if not obj.pk:
            return "-"
        status = default_runtime().venue(obj.venue).status()
        limits = ", ".join(
            f"{u.bucket}: {u.in_use:g}/{u.limit:g} {u.unit} per {u.period_seconds:g}s"
            for u in status.rate_limits
        )
        return (
            f"{status.state}, breaker {status.breaker}, host {status.active_host}, "
            f"latency {status.latency_ewma_ms} ms, last error: {status.last_error or '-'}; "
            f"limits ({status.limiter_backend}): {limits}"
        )

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        source = default_runtime().settings_for
        if isinstance(source, SettingsSource):
            source.forget()  # this process applies the change now; others within their TTL


@admin.register(LiveAccount)
class LiveAccountAdmin(admin.ModelAdmin):
    """Live accounts name their credentials' secret in core; the value never comes here."""

    list_display = (
        "name",
        "venue",
        "owner_id",
        "secret_key",
        "enabled",
        "is_default",
        "created_at",
    )
    list_filter = ("venue", "enabled")
    search_fields = ("name", "id", "secret_key")
    readonly_fields = ("id", "created_at")
    fields = (
        "id",
        "owner_id",
        "venue",
        "name",
        "secret_key",
        "enabled",
        "is_default",
        "created_at",
    )


class LiveFillInline(admin.TabularInline):
    model = LiveFill
    fields = ("fill_id", "side", "price", "amount", "fee", "fee_currency", "liquidity", "filled_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LiveOrder)
class LiveOrderAdmin(ReadOnlyAdmin):
    """The live order ledger: what the venue said about each order, and the reconciler's
    progress on those whose outcome is unknown. Written only by ``services/orders/ledger.py``."""

    list_display = (
        "client_order_id",
        "account",
        "venue",
        "symbol",
        "side",
        "type",
        "status",
        "outcome",
        "amount",
        "filled",
        "price",
        "lookup_attempts",
        "created_at",
    )
    list_filter = ("status", "outcome", "venue", "side")
    search_fields = ("client_order_id", "venue_order_id", "symbol")
    list_select_related = ("account",)
    date_hierarchy = "created_at"
    inlines = (LiveFillInline,)


@admin.register(LiveFill)
class LiveFillAdmin(ReadOnlyAdmin):
    list_display = (
        "fill_id",
        "account",
        "venue",
        "symbol",
        "side",
        "price",
        "amount",
        "fee",
        "fee_currency",
        "liquidity",
        "filled_at",
    )
    list_filter = ("venue", "side", "liquidity")
    search_fields = ("fill_id", "client_order_id", "venue_order_id", "symbol")
    list_select_related = ("account",)


@admin.register(ExchangeRequestLog)
class ExchangeRequestLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "venue", "method", "endpoint", "status", "latency_ms", "error")
    list_filter = ("venue", "status", "method")
    search_fields = ("url", "endpoint", "error")
    date_hierarchy = "created_at"
