"""Admin: the outbox (read-only, with a retry action for dead letters) and inbox receipts."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from dsta.kernel.bus import outbox
from dsta.kernel.bus.models import InboxReceipt, OutboxMessage


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the bus only: viewable, never added or edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(_ReadOnlyAdmin):
    list_display = (
        "id",
        "name",
        "state",
        "attempts",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    )
    list_filter = ("state", "name")
    search_fields = ("event_id", "name")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    actions = ("retry_dead_letters",)

    @admin.action(description="Retry selected dead letters", permissions=["retry"])
    def retry_dead_letters(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        event_ids = list(queryset.values_list("event_id", flat=True))
        revived = outbox.retry_dead(event_ids=event_ids)
        skipped = len(event_ids) - revived
        self.message_user(
            request,
            f"{revived} dead letter(s) queued for delivery"
            + (f"; {skipped} row(s) skipped (not dead)" if skipped else ""),
            messages.SUCCESS if revived else messages.WARNING,
        )

    def has_retry_permission(self, request: HttpRequest) -> bool:
        # Retrying changes the row's state, so it needs the model's change permission even
        # though the form itself is read-only.
        return request.user.has_perm("bus.change_outboxmessage")


@admin.register(InboxReceipt)
class InboxReceiptAdmin(_ReadOnlyAdmin):
    list_display = ("id", "subscriber", "event_name", "event_id", "handled_at")
    list_filter = ("subscriber", "event_name")
    search_fields = ("event_id", "subscriber")
    date_hierarchy = "handled_at"
