"""Admin: jobs are read-only (with a cancel action); scheduler rows are for inspection."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from dsta.kernel.errors import Conflict
from dsta.kernel.jobs.models import Job, ScheduledRun, SchedulerLease
from dsta.kernel.jobs.services import cancel_job


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the system: viewable, never added or edited by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "status", "progress", "owner_id", "created_at", "finished_at")
    list_filter = ("status", "kind", "cancel_requested")
    search_fields = ("=id", "kind", "message", "worker_id")
    date_hierarchy = "created_at"
    actions = ["cancel_selected"]

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        # Rows stay read-only; cancelling is what the "change" permission grants here.
        return bool(request.user.has_perm("jobs.change_job"))

    @admin.action(description="Cancel selected jobs", permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        cancelled = skipped = 0
        for job_id in queryset.values_list("id", flat=True):
            try:
                cancel_job(job_id)
                cancelled += 1
            except Conflict:  # already succeeded or failed
                skipped += 1
        self.message_user(
            request,
            f"cancel requested for {cancelled} job(s); {skipped} already finished",
            messages.SUCCESS,
        )


@admin.register(ScheduledRun)
class ScheduledRunAdmin(ReadOnlyAdmin):
    list_display = ("schedule", "due_at", "enqueued_at", "job_id", "holder", "last_error")
    list_filter = ("schedule",)
    date_hierarchy = "due_at"


@admin.register(SchedulerLease)
class SchedulerLeaseAdmin(ReadOnlyAdmin):
    list_display = ("name", "holder", "acquired_at", "expires_at")
