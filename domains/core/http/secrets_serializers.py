"""Request and response shapes of ``/api/v1/config/secrets/``: metadata out, values in."""

from typing import Any

from rest_framework import serializers

from domains.core.api import SECRET_KINDS
from domains.core.http.serializers import StrictIntegerField


class SecretInfoSerializer(serializers.Serializer):
    """A secret's metadata. There is no value field: the API never returns one."""

    owner_id = serializers.IntegerField()
    key = serializers.CharField()
    kind = serializers.ChoiceField(choices=list(SECRET_KINDS))
    # DRF moves declared fields off the class, so this does not shadow Serializer.fields
    # at runtime; mypy only sees the class attribute.
    fields = serializers.ListField(  # type: ignore[assignment]
        child=serializers.CharField(), help_text="The fields that are set (names only)."
    )
    version = serializers.IntegerField(help_text="1 when created, +1 per replacement.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_read_at = serializers.DateTimeField(
        allow_null=True, help_text="When the exchange domain last read the plaintext."
    )


class SecretWriteSerializer(serializers.Serializer):
    """Body of ``PUT /api/v1/config/secrets/{key}``. Unknown fields are refused."""

    kind = serializers.ChoiceField(choices=list(SECRET_KINDS))
    value = serializers.JSONField(
        help_text='generic: a string. exchange_credentials: {"api_key", "secret", '
        '"passphrase" (optional)}. Write-only: never returned.'
    )
    expected_version = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text="The version you read (0: must not exist yet); 409 if it moved on.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs

    def to_representation(self, instance: Any) -> dict[str, Any]:
        # Never echo a value, not even in a validation error's round trip.
        return {}
