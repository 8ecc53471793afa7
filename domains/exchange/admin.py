"""Admin for the paper exchange: accounts are editable (settings only), the rest is read-only.

Balances, orders and fills change only through the paper exchange's service (locks and fills
must stay consistent); an account is created with ``manage.py paper_account create`` so its
starting balances are set once.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from domains.exchange.models import PaperAccount, PaperBalance, PaperFill, PaperMarket, PaperOrder


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
