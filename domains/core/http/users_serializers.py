"""Request and response shapes of ``/api/v1/users/``."""

from typing import Any

from rest_framework import serializers

from domains.core.http.auth_serializers import StrictSerializer
from domains.core.http.serializers import StrictCharField
from domains.core.services.audit import PAGE_MAX_LIMIT
from dsta.kernel.principal import ROLES


class InviteCreateSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=ROLES)
    email = serializers.EmailField(required=False, default="", allow_blank=True)


class InviteCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    token = serializers.CharField(help_text="Shown this once; give it to the invitee.")
    role = serializers.ChoiceField(choices=ROLES)
    email = serializers.CharField(allow_blank=True)
    expires_at = serializers.DateTimeField()


class RegisterSerializer(StrictSerializer):
    token = StrictCharField(max_length=200, help_text="The invite token.")
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=1024, trim_whitespace=False)
    email = serializers.EmailField(required=False, default="", allow_blank=True)


class ProfileSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLES))
    role = serializers.ChoiceField(choices=ROLES, allow_null=True)
    is_active = serializers.BooleanField()
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField(allow_null=True)
    preferences = serializers.JSONField(help_text="See PUT /api/v1/users/preferences.")


class AuditQuerySerializer(serializers.Serializer):
    action = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        help_text="Only these actions (repeat the parameter for several).",
    )
    since = serializers.DateTimeField(required=False, help_text="At or after (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Before (ISO 8601).")
    user_id = serializers.IntegerField(required=False, help_text="Admins only: one user's.")
    before_id = serializers.IntegerField(
        required=False, min_value=1, help_text="Next page: entries older than this id."
    )
    limit = serializers.IntegerField(default=50, min_value=1, max_value=PAGE_MAX_LIMIT)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "since" in attrs and "until" in attrs and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError("since must be before until")
        return attrs


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    action = serializers.CharField()
    user_id = serializers.IntegerField(allow_null=True)
    username = serializers.CharField(allow_blank=True)
    target = serializers.CharField(allow_blank=True)
    details = serializers.JSONField()
    ip = serializers.CharField(allow_blank=True)
    # DRF moves declared fields off the class; mypy only sees the class attribute.
    source = serializers.CharField(allow_blank=True)  # type: ignore[assignment]


class AuditPageSerializer(serializers.Serializer):
    results = AuditEntrySerializer(many=True)
    next_before_id = serializers.IntegerField(
        allow_null=True, help_text="Pass as before_id for the next page; null on the last."
    )
