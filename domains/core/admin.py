"""Admin for configuration: keys are read-only (code declares them), past versions are
read-only, and a new version is written through the service (validation, version, event)."""

import json
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.db.models import Max, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from domains.core.api import DEFAULT_ENVIRONMENT, REASON_MAX_LENGTH
from domains.core.models import ConfigKey, ConfigValue
from domains.core.services.validation import check_environment, check_value, max_value_bytes
from domains.core.services.values import config_value_set
from dsta.kernel.errors import DstaError

_PREVIEW_CHARS = 80


def _pretty_json(value: Any) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


def _current_version(config_key: ConfigKey, environment: str) -> int:
    newest = ConfigValue.objects.filter(config_key=config_key, environment=environment).aggregate(
        newest=Max("version")
    )["newest"]
    return int(newest or 0)


def _new_version_url(
    config_key: ConfigKey, environment: str, value: Any, expected_version: int
) -> str:
    query = urlencode(
        {
            "config_key": config_key.pk,
            "environment": environment,
            "value": json.dumps(value),
            "expected_version": expected_version,
        }
    )
    return f"{reverse('admin:core_configvalue_add')}?{query}"


@admin.register(ConfigKey)
class ConfigKeyAdmin(admin.ModelAdmin):
    """Keys are declared in code and synced on migrate; here they are shown, not edited."""

    list_display = ["key", "is_feature_flag", "description", "updated_at"]
    list_filter = ["is_feature_flag"]
    search_fields = ["key", "description"]
    fields = (
        "key",
        "description",
        "is_feature_flag",
        "is_secret",
        "schema_pretty",
        "default_pretty",
        "values_link",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["write_default_environment_value"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="schema (JSON Schema, Draft 2020-12)")
    def schema_pretty(self, config_key: ConfigKey) -> SafeString:
        return _pretty_json(config_key.schema)

    @admin.display(description="default")
    def default_pretty(self, config_key: ConfigKey) -> SafeString:
        return _pretty_json(config_key.default)

    @admin.display(description="values")
    def values_link(self, config_key: ConfigKey) -> SafeString:
        url = (
            reverse("admin:core_configvalue_changelist") + f"?config_key__id__exact={config_key.pk}"
        )
        return format_html('<a href="{}">all versions of {}</a>', url, config_key.key)

    @admin.action(description="Write a new 'default' value for the selected key")
    def write_default_environment_value(
        self, request: HttpRequest, queryset: QuerySet[ConfigKey]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one key.", messages.WARNING)
            return None
        config_key = queryset.get()
        current = (
            ConfigValue.objects.filter(config_key=config_key, environment=DEFAULT_ENVIRONMENT)
            .order_by("-version")
            .first()
        )
        value = current.value if current is not None else config_key.default
        version = current.version if current is not None else 0
        return HttpResponseRedirect(
            _new_version_url(config_key, DEFAULT_ENVIRONMENT, value, version)
        )


class ConfigValueWriteForm(forms.ModelForm):
    """A new version: checked like the API checks it, written by the service on save."""

    expected_version = forms.IntegerField(
        required=False,
        min_value=0,
        help_text="The environment's version you based this on (0: none yet). If someone "
        "wrote a newer one meanwhile, the write is refused.",
    )
    value = forms.JSONField(help_text='JSON, e.g. true, 3, "text", {"a": 1}.')
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, help_text="Why (kept in the history).")

    class Meta:
        model = ConfigValue
        fields = ["config_key", "environment", "value", "reason"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        config_key: ConfigKey | None = cleaned.get("config_key")
        environment = cleaned.get("environment")
        if config_key is None or environment is None or "value" not in cleaned:
            return cleaned
        try:
            check_environment(environment)
        except DstaError as exc:
            self.add_error("environment", exc.message)
            return cleaned
        try:
            check_value(
                key=config_key.key,
                schema=config_key.schema,
                value=cleaned["value"],
                max_bytes=max_value_bytes(),
            )
        except DstaError as exc:
            problems = (exc.details or {}).get("problems") or [exc.message]
            for problem in problems:
                text = (
                    problem
                    if isinstance(problem, str)
                    else f"{problem['path']}: {problem['message']}"
                )
                self.add_error("value", text)
        expected = cleaned.get("expected_version")
        current = _current_version(config_key, environment)
        if expected is not None and expected != current:
            self.add_error(
                "expected_version",
                f"{config_key.key} in {environment} is at version {current} now; "
                "review it and set the expected version again.",
            )
        return cleaned


@admin.register(ConfigValue)
class ConfigValueAdmin(admin.ModelAdmin):
    """Every version ever written; past versions are read-only, "add" writes the next one."""

    form = ConfigValueWriteForm
    list_display = [
        "config_key",
        "environment",
        "version",
        "value_preview",
        "changed_by",
        "reason",
        "created_at",
    ]
    list_filter = ["environment", "config_key"]
    search_fields = ["config_key__key", "reason"]
    list_select_related = ["config_key", "changed_by"]
    actions = ["write_next_version"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # versions are immutable: the history must stay true

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["config_key", "environment", "version", "value_pretty", "changed_by", "reason"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("config_key", "environment", "value", "reason", "expected_version")
        return (*self.get_readonly_fields(request, obj), "created_at")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("environment", DEFAULT_ENVIRONMENT)
        if "value" in initial:
            # The form's JSON field wants the decoded value; the query string carries JSON.
            try:
                initial["value"] = json.loads(str(initial["value"]))
            except ValueError:
                initial.pop("value")
        return initial

    @admin.display(description="value")
    def value_preview(self, row: ConfigValue) -> str:
        text = json.dumps(row.value)
        return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"

    @admin.display(description="value")
    def value_pretty(self, row: ConfigValue) -> SafeString:
        return _pretty_json(row.value)

    def save_model(self, request: HttpRequest, obj: ConfigValue, form: Any, change: bool) -> None:
        """Write through the service, then point ``obj`` at the row it created."""
        row = config_value_set(
            key=obj.config_key.key,
            value=form.cleaned_data["value"],
            environment=obj.environment,
            actor_id=request.user.pk,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data.get("expected_version"),
        )
        obj.pk = row.pk
        obj.version = row.version
        obj.changed_by_id = row.changed_by_id
        obj.created_at = row.created_at
        obj._state.adding = False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # A writer who won a race between the form's check and the save gets a message and
        # the form again (the transaction rolled back), not an error page.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DstaError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    @admin.action(description="Write a new version based on the selected one")
    def write_next_version(
        self, request: HttpRequest, queryset: QuerySet[ConfigValue]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.WARNING)
            return None
        row = queryset.select_related("config_key").get()
        current = _current_version(row.config_key, row.environment)
        return HttpResponseRedirect(
            _new_version_url(row.config_key, row.environment, row.value, current)
        )


# Secrets and notifications have admin modules of their own; importing them registers them.
from domains.core import auth_admin, notifications_admin, secrets_admin  # noqa: E402, F401
