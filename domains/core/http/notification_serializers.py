"""Request and response shapes of ``/api/v1/notifications/``."""

from typing import Any

from rest_framework import serializers

from domains.core.api import (
    BODY_MAX_CHARS,
    CHANNELS,
    DEDUPE_KEY_MAX_LENGTH,
    PRIORITIES,
    SUBJECT_MAX_CHARS,
)
from domains.core.http.serializers import StrictCharField, StrictIntegerField
from domains.core.models import DeliveryLog, Notification, NotificationTemplate


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not declare: a misspelt field must not be silently ignored."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        initial = self.initial_data if isinstance(self.initial_data, dict) else {}
        unknown = sorted(set(initial) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


class StrictBooleanField(serializers.BooleanField):
    """A JSON true/false only (DRF would take "yes", 1, "on"...)."""

    default_error_messages = {"strict": "A JSON boolean is required."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("strict")
        return data


class SendSerializer(StrictSerializer):
    """Body of ``POST /api/v1/notifications/send``: text (``subject``/``body``) or a
    ``template`` with its ``variables``."""

    user_id = StrictIntegerField(
        required=False, help_text="Admins: the recipient (default: yourself)."
    )
    priority = serializers.ChoiceField(choices=list(PRIORITIES), default="normal")
    subject = StrictCharField(required=False, allow_blank=True, max_length=SUBJECT_MAX_CHARS)
    body = StrictCharField(required=False, allow_blank=True, max_length=BODY_MAX_CHARS)
    template = StrictCharField(required=False, max_length=64)
    variables = serializers.DictField(required=False, help_text="The template's variables.")
    channels = serializers.ListField(
        child=StrictCharField(max_length=32),
        required=False,
        max_length=len(CHANNELS),
        help_text=f"Override the preferences: any of {', '.join(CHANNELS)}.",
    )
    dedupe_key = StrictCharField(required=False, allow_blank=True, max_length=DEDUPE_KEY_MAX_LENGTH)
    dedupe_window_seconds = StrictIntegerField(required=False, min_value=1)
    # Declared fields leave the class (DRF's metaclass): Serializer.data is not shadowed.
    data = serializers.DictField(  # type: ignore[assignment]
        required=False, help_text="Extra JSON for in-app and webhooks."
    )


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryLog
        fields = [
            "channel",
            "status",
            "destination",
            "attempts",
            "last_error",
            "next_retry_at",
            "sent_at",
            "updated_at",
        ]


class NotificationSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="owner_id")
    template = serializers.CharField(source="template_name")
    deliveries = DeliverySerializer(many=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "user_id",
            "priority",
            "subject",
            "body",
            "template",
            "data",
            "channels",
            "status",
            "source",
            "dedupe_key",
            "duplicates",
            "created_at",
            "deliveries",
        ]


class SendResultSerializer(NotificationSerializer):
    deduplicated = serializers.BooleanField(
        help_text="True: the same dedupe key was sent within the window; this is that one."
    )

    class Meta(NotificationSerializer.Meta):
        fields = [*NotificationSerializer.Meta.fields, "deduplicated"]


class HistoryQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(default=50, min_value=1, max_value=200)
    offset = serializers.IntegerField(default=0, min_value=0)
    priority = serializers.ChoiceField(choices=list(PRIORITIES), required=False)
    status = serializers.ChoiceField(choices=Notification.Status.values, required=False)


class HistoryPageSerializer(serializers.Serializer):
    results = NotificationSerializer(many=True)
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class TemplateSerializer(serializers.ModelSerializer):
    shared = serializers.SerializerMethodField()

    class Meta:
        model = NotificationTemplate
        fields = [
            "name",
            "description",
            "subject",
            "body",
            "variables",
            "shared",
            "created_at",
            "updated_at",
        ]

    def get_shared(self, template: NotificationTemplate) -> bool:
        return template.owner_id is None


class TemplateWriteSerializer(StrictSerializer):
    """Body of ``PUT /api/v1/notifications/templates/{name}``."""

    subject = StrictCharField(required=False, allow_blank=True, default="")
    body = StrictCharField()
    description = StrictCharField(required=False, allow_blank=True, default="")


class TemplateCreateSerializer(TemplateWriteSerializer):
    """Body of ``POST /api/v1/notifications/templates``."""

    name = StrictCharField(max_length=64)
    shared = StrictBooleanField(
        required=False, default=False, help_text="Admins: a template every user can use."
    )


class PreferencesSerializer(StrictSerializer):
    """The notification preferences (``PUT`` replaces them; fields left out take defaults).
    Timezone, quiet hours and the default channels are in ``PUT /api/v1/users/preferences``."""

    channels_by_priority = serializers.DictField(
        child=serializers.ListField(child=StrictCharField()),
        required=False,
        default=dict,
        help_text='{"critical": ["in_app", "telegram"]}; a priority left out uses the user '
        "preferences' notification_channels.",
    )
    email = StrictCharField(required=False, allow_blank=True, default="", max_length=254)
    telegram_chat_id = StrictCharField(required=False, allow_blank=True, default="", max_length=64)
    webhook_url = StrictCharField(required=False, allow_blank=True, default="", max_length=500)
    quiet_hours_mode = serializers.ChoiceField(
        choices=["defer", "in_app_only"], required=False, default="defer"
    )
