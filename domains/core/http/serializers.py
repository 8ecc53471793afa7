"""Request and response shapes of the config endpoints."""

from typing import Any

from rest_framework import serializers

from domains.core.api import (
    DEFAULT_ENVIRONMENT,
    HISTORY_MAX_LIMIT,
    REASON_MAX_LENGTH,
)


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictIntegerField(serializers.IntegerField):
    """An IntegerField that refuses strings, floats and booleans in a JSON body."""

    default_error_messages = {"strict": "A JSON integer is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("strict")
        return int(super().to_internal_value(data))


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. config_key_unknown.")
    message = serializers.CharField()
    details = serializers.JSONField(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    """The one error format: ``{"error": {"code", "message", "details"}}``."""

    error = ErrorDetailSerializer()


class ConfigEntrySerializer(serializers.Serializer):
    key = serializers.CharField()
    environment = serializers.CharField()
    value = serializers.JSONField(allow_null=True, help_text="The effective value (any JSON).")
    version = serializers.IntegerField(help_text="Version of the row that supplied the value.")
    updated_at = serializers.DateTimeField(allow_null=True)
    # DRF moves declared fields off the class, so this does not shadow Field.source at
    # runtime; mypy only sees the class attribute.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["environment", "default", "key_default"],
        help_text="Where the value came from: the environment's own value, the 'default' "
        "environment's, or the key's declared default (version 0).",
    )


class ConfigKeySerializer(serializers.Serializer):
    key = serializers.CharField()
    description = serializers.CharField()
    schema = serializers.JSONField(help_text="JSON Schema (Draft 2020-12) of the value.")
    default = serializers.JSONField(allow_null=True)
    is_feature_flag = serializers.BooleanField()
    is_secret = serializers.BooleanField()
    current = ConfigEntrySerializer(help_text="The effective value in the environment asked.")


class ConfigVersionSerializer(serializers.Serializer):
    key = serializers.CharField()
    environment = serializers.CharField()
    version = serializers.IntegerField()
    value = serializers.JSONField(allow_null=True)
    changed_by = serializers.IntegerField(allow_null=True, help_text="User id of the writer.")
    reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class ConfigWriteSerializer(serializers.Serializer):
    """Body of ``PUT /api/v1/config/{key}``. Unknown fields are refused (a misspelt
    ``expected_version`` must not silently turn off the conflict check)."""

    value = serializers.JSONField(allow_null=True, help_text="The new value (any JSON).")
    environment = StrictCharField(default=DEFAULT_ENVIRONMENT, max_length=32)
    reason = StrictCharField(default="", allow_blank=True, max_length=REASON_MAX_LENGTH)
    expected_version = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text="The environment's version you read (0: none yet); 409 if it moved on.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


class EnvironmentQuerySerializer(serializers.Serializer):
    environment = serializers.CharField(default=DEFAULT_ENVIRONMENT, max_length=32)


class HistoryQuerySerializer(EnvironmentQuerySerializer):
    limit = serializers.IntegerField(default=50, min_value=1, max_value=HISTORY_MAX_LIMIT)
