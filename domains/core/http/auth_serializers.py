"""Request and response shapes of ``/api/v1/auth/``. Bodies refuse unknown fields."""

from typing import Any

from rest_framework import serializers

from domains.core.http.serializers import StrictCharField
from dsta.kernel.principal import ROLES, SCOPES


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not declare (a typo must not pass silently)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.initial_data, dict):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean only: no "yes", no 1."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class LoginSerializer(StrictSerializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=1024, trim_whitespace=False)
    session = StrictBooleanField(
        default=False, help_text="Also start a Django session (cookie) for the dashboard."
    )


class RefreshSerializer(StrictSerializer):
    refresh = StrictCharField(max_length=4096, help_text="The refresh token (single use).")


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Send as 'Authorization: Bearer <access>'.")
    refresh = serializers.CharField(help_text="Single use: POST it to /auth/refresh.")
    token_type = serializers.CharField(default="Bearer")
    access_expires_at = serializers.DateTimeField()
    refresh_expires_at = serializers.DateTimeField()
    session_id = serializers.UUIDField()


class PrincipalSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLES))
    role = serializers.ChoiceField(
        choices=ROLES,
        allow_null=True,
        help_text="The role acted with: highest role, capped by scopes.",
    )
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPES))
    via = serializers.ChoiceField(choices=["jwt", "api_key", "session"])
    credential_id = serializers.CharField(
        allow_null=True, help_text="The login session (jwt) or API key id (api_key)."
    )


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    method = serializers.ChoiceField(choices=["password", "oidc"])
    created_at = serializers.DateTimeField()
    refreshed_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField()
    ip = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField(allow_blank=True)
    current = serializers.BooleanField(help_text="True for the session of this request's token.")


class ApiKeyCreateSerializer(StrictSerializer):
    name = StrictCharField(max_length=100, default="", allow_blank=True)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SCOPES), min_length=1, max_length=len(SCOPES)
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    expires_in_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=3650
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if attrs.get("expires_at") is not None and attrs.get("expires_in_days") is not None:
            raise serializers.ValidationError("give expires_at or expires_in_days, not both")
        return attrs


class ApiKeySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(allow_blank=True)
    prefix = serializers.CharField(help_text="The key's public part: dsta_<prefix>_...")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPES))
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    state = serializers.ChoiceField(choices=["active", "expired", "revoked"])


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(
        help_text="The key. Shown this once: only its hash is stored. "
        "Send as 'Authorization: Api-Key <key>'."
    )
