"""Admin for notifications: templates (checked like the API does), preferences, and the
notifications with their delivery logs (read-only: they are the record)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from domains.core.models import (
    DeliveryLog,
    Notification,
    NotificationPreference,
    NotificationTemplate,
)
from domains.core.services.notification_preferences import notification_preferences_problems
from domains.core.services.notification_templates import template_check
from dsta.kernel.errors import DstaError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable, never edited here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NotificationTemplateForm(forms.ModelForm):
    class Meta:
        model = NotificationTemplate
        fields = ["owner", "name", "description", "subject", "body"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            draft = template_check(
                name=cleaned.get("name", ""),
                subject=cleaned.get("subject", ""),
                body=cleaned.get("body", ""),
                description=cleaned.get("description", ""),
            )
        except DstaError as exc:
            raise forms.ValidationError(f"{exc.message} {exc.details or ''}".strip()) from exc
        self.instance.variables = draft.variables
        return cleaned


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    """Templates: an empty owner makes a shared template."""

    form = NotificationTemplateForm
    list_display = ["name", "owner", "subject", "variables", "updated_at"]
    search_fields = ["name", "subject", "description"]
    readonly_fields = ["variables", "created_at", "updated_at"]


class NotificationPreferenceForm(forms.ModelForm):
    webhook_url = forms.URLField(max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = NotificationPreference
        fields = [
            "owner",
            "channels_by_priority",
            "email",
            "telegram_chat_id",
            "webhook_url",
            "quiet_hours_mode",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        document = {name: cleaned[name] for name in self.Meta.fields[1:] if name in cleaned}
        document["channels_by_priority"] = document.get("channels_by_priority") or {}
        problems = notification_preferences_problems(document)
        if problems:
            raise forms.ValidationError(problems)
        return cleaned


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    form = NotificationPreferenceForm
    list_display = ["owner", "email", "telegram_chat_id", "webhook_url", "quiet_hours_mode"]
    search_fields = ["owner__username", "email"]


DELIVERY_FIELDS = (
    "channel",
    "status",
    "destination",
    "attempts",
    "last_error",
    "next_retry_at",
    "sent_at",
)


class DeliveryInline(admin.TabularInline):
    model = DeliveryLog
    extra = 0
    can_delete = False
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "owner", "priority", "subject", "status", "source", "duplicates"]
    list_filter = ["status", "priority", "source"]
    search_fields = ["subject", "owner__username", "dedupe_key"]
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]


@admin.register(DeliveryLog)
class DeliveryLogAdmin(ReadOnlyAdmin):
    list_display = [
        "notification",
        "channel",
        "status",
        "attempts",
        "next_retry_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "channel"]
    search_fields = ["notification__id", "destination"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
