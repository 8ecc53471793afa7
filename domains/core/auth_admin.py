"""Admin pages for users and their roles, API keys (prefix and hash: the key itself is never
stored), login sessions, invites, external identities and the audit log (read-only).

Imported by ``domains/core/admin.py``.
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from domains.core.models import (
    ApiKey,
    AuditEntry,
    AuthSession,
    ExternalIdentity,
    UserInvite,
)
from domains.core.services.api_keys import api_key_revoke, api_key_state
from domains.core.services.clients import client_ip
from domains.core.services.roles import user_roles
from domains.core.services.users import user_change_role
from dsta.kernel.principal import ROLES


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _set_role_action(role: str) -> Any:
    def set_role(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        for user in queryset:
            user_change_role(user=user, role=role, actor_id=request.user.pk, ip=client_ip(request))
        modeladmin.message_user(request, f"{queryset.count()} user(s) now have the {role} role.")

    set_role.__name__ = f"set_role_{role}"
    return admin.action(description=f"Give the selected users the {role} role")(set_role)


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class RoleUserAdmin(UserAdmin):
    """Django's user admin, with the role shown and set through the service (audited,
    and admins get ``is_staff``)."""

    list_display = ["username", "email", "role", "is_active", "last_login", "date_joined"]
    actions = [_set_role_action(role) for role in ROLES]

    @admin.display(description="role")
    def role(self, user: Any) -> str:
        return ", ".join(user_roles(user)) or "-"


_API_KEY_FIELDS = (
    "id",
    "user",
    "name",
    "prefix",
    "key_hash",
    "scopes",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
)


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Keys are created by their owner (API) or ``manage.py create_api_key``, which show the
    key once; here: the prefix and the SHA-256 hash, never the key. Revoking is an action."""

    list_display = ["name", "user", "prefix", "scopes", "state", "created_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    fields = _API_KEY_FIELDS
    readonly_fields = _API_KEY_FIELDS
    actions = ["revoke"]

    @admin.display(description="state")
    def state(self, key: ApiKey) -> str:
        return api_key_state(key)

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            api_key_revoke(key=key, actor_id=request.user.pk, ip=client_ip(request))
        self.message_user(request, f"{queryset.count()} key(s) revoked.", messages.SUCCESS)


@admin.register(AuthSession)
class AuthSessionAdmin(ReadOnlyAdmin):
    """Token login sessions; revoking one ends its access and refresh tokens at once."""

    list_display = ["id", "user", "method", "created_at", "expires_at", "revoked_at", "ip"]
    list_filter = ["method", "revoked_reason"]
    search_fields = ["user__username", "ip"]
    list_select_related = ["user"]
    exclude = ["refresh_jti"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected sessions")
    def revoke(self, request: HttpRequest, queryset: QuerySet[AuthSession]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_reason="admin"
        )
        self.message_user(request, f"{count} session(s) revoked.", messages.SUCCESS)


@admin.register(UserInvite)
class UserInviteAdmin(ReadOnlyAdmin):
    """Invites (created by ``POST /api/v1/users/invites``, which shows the token once)."""

    list_display = ["id", "role", "email", "created_by", "created_at", "expires_at", "used_by"]
    exclude = ["token_hash"]


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(ReadOnlyAdmin):
    list_display = ["subject", "issuer", "user", "email", "last_login_at"]
    search_fields = ["subject", "email", "user__username"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log: append-only, so read-only here."""

    list_display = ["occurred_at", "action", "username", "user_id", "target", "ip", "source"]
    list_filter = ["action", "source"]
    search_fields = ["username", "target", "action"]
    date_hierarchy = "occurred_at"
