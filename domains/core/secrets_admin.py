"""Admin for secrets: metadata only. A new value can be entered, never displayed.

The form's value inputs are password fields that never render what they hold, the
ciphertext is not a field at all, and every write and delete goes through the service (so it
is validated, encrypted with the primary key and audited).
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from domains.core.api import EXCHANGE_CREDENTIAL_FIELDS, GENERIC_SECRET_FIELD
from domains.core.models import Secret
from domains.core.services.clients import client_ip
from domains.core.services.secrets import secret_delete, secret_set
from dsta.kernel.errors import DstaError

_WRITE_ONLY = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
VALUE_FIELDS = (GENERIC_SECRET_FIELD, *EXCHANGE_CREDENTIAL_FIELDS)
METADATA_FIELDS = ["version", "fields", "created_at", "updated_at", "last_read_at"]


class SecretForm(forms.ModelForm):
    """Owner, key and kind, plus write-only inputs for the value: ``value`` for a generic
    secret, ``api_key``/``secret``/``passphrase`` for exchange credentials."""

    value = forms.CharField(required=False, widget=_WRITE_ONLY, strip=False)
    api_key = forms.CharField(required=False, widget=_WRITE_ONLY, strip=False)
    secret = forms.CharField(required=False, widget=_WRITE_ONLY, strip=False)
    passphrase = forms.CharField(required=False, widget=_WRITE_ONLY, strip=False)

    class Meta:
        model = Secret
        fields = ["owner", "key", "kind"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        if kind == Secret.Kind.GENERIC and not cleaned.get("value"):
            self.add_error("value", "Enter the new value (it is never shown).")
        if kind == Secret.Kind.EXCHANGE_CREDENTIALS:
            for name in ("api_key", "secret"):
                if not cleaned.get(name):
                    self.add_error(name, "Enter the new value (it is never shown).")
        return cleaned

    def new_value(self) -> Any:
        """The value to store, shaped for the service."""
        if self.cleaned_data["kind"] == Secret.Kind.GENERIC:
            return self.cleaned_data["value"]
        return {
            name: self.cleaned_data[name]
            for name in EXCHANGE_CREDENTIAL_FIELDS
            if self.cleaned_data.get(name)
        }


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin):
    """Secrets: metadata in lists and pages; values only ever go in."""

    form = SecretForm
    list_display = ["key", "owner", "kind", "version", "fields", "updated_at", "last_read_at"]
    list_filter = ["kind"]
    search_fields = ["key", "owner__username"]
    readonly_fields = METADATA_FIELDS
    actions = ["delete_through_service"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        identity = ("owner", "key") if obj is None else ()
        meta = () if obj is None else tuple(METADATA_FIELDS)
        return (*identity, "kind", *VALUE_FIELDS, *meta)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Owner and key name the secret: changing them would be a different secret.
        return () if obj is None else ("owner", "key", *METADATA_FIELDS)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bulk delete would bypass the audit
        return actions

    def save_model(self, request: HttpRequest, obj: Secret, form: Any, change: bool) -> None:
        written = secret_set(
            owner_id=obj.owner_id,
            key=obj.key,
            kind=form.cleaned_data["kind"],
            value=form.new_value(),
            actor_id=request.user.pk,
            ip=client_ip(request),
            source="core",
        )
        obj.pk = written.secret.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Secret) -> None:
        secret_delete(
            owner_id=obj.owner_id, key=obj.key, actor_id=request.user.pk, ip=client_ip(request)
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Secret]) -> None:
        for row in queryset:
            self.delete_model(request, row)

    @admin.action(description="Delete the selected secrets", permissions=["delete"])
    def delete_through_service(self, request: HttpRequest, queryset: QuerySet[Secret]) -> None:
        count = queryset.count()
        self.delete_queryset(request, queryset)
        self.message_user(request, f"Deleted {count} secret(s).", messages.SUCCESS)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # A value the service refuses (too long, wrong shape) comes back as a message.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DstaError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
