"""``/api/v1/notifications/``: send, history, templates and preferences. Thin: parse, call
one service, render."""

from typing import Any

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.core.api import CHANNELS, PRIORITIES
from domains.core.http.notification_serializers import (
    HistoryPageSerializer,
    HistoryQuerySerializer,
    NotificationSerializer,
    PreferencesSerializer,
    SendResultSerializer,
    SendSerializer,
    TemplateCreateSerializer,
    TemplateSerializer,
    TemplateWriteSerializer,
)
from domains.core.http.owners import OWNER_PARAMETER, acting_owner_id
from domains.core.http.serializers import ErrorSerializer
from domains.core.models import DeliveryLog, Notification
from domains.core.services.notification_preferences import (
    delivery_plan,
    notification_preferences_of,
    notification_preferences_set,
)
from domains.core.services.notification_templates import (
    template_create,
    template_delete,
    template_replace,
    template_visible,
    templates_visible,
)
from domains.core.services.notifications import notification_send
from dsta.kernel.errors import Forbidden
from dsta.kernel.permissions import AnyRole, IsAdmin, IsAnalyst, principal_of

_OWNER = OpenApiParameter(
    OWNER_PARAMETER, int, description="Admins: act for this user (default: yourself)."
)
_SHARED = OpenApiParameter(
    "shared", bool, description="Admins: the shared template of that name, not your own."
)
_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Malformed body or invalid values."),
    401: OpenApiResponse(ErrorSerializer, description="Not signed in."),
    403: OpenApiResponse(ErrorSerializer, description="Role or scope too low."),
}
_NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="Not found.")}


def _body(serializer_class: type[Any], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _shared_scope(request: Request) -> int | None:
    """None (shared templates) for an admin asking ``?shared=true``, else the caller's id."""
    if request.query_params.get("shared", "").lower() in ("1", "true", "yes"):
        principal = principal_of(request)
        if principal is None or not principal.is_admin:
            raise Forbidden("only admins manage shared templates")
        return None
    return acting_owner_id(request)


class SendView(APIView):
    """Send a notification to yourself (admins: to any user)."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="notifications_send",
        tags=["notifications"],
        request=SendSerializer,
        responses={
            202: OpenApiResponse(SendResultSerializer, description="Stored; being delivered."),
            200: OpenApiResponse(
                SendResultSerializer, description="A duplicate within the window (no delivery)."
            ),
            **_ERRORS,
            **_NOT_FOUND,
        },
    )
    def post(self, request: Request) -> Response:
        body = _body(SendSerializer, request)
        owner_id = acting_owner_id(request, body.get("user_id"))
        result = notification_send(
            owner_id=owner_id,
            priority=body["priority"],
            subject=body.get("subject", ""),
            body=body.get("body", ""),
            template=body.get("template"),
            variables=body.get("variables"),
            channels=body.get("channels"),
            dedupe_key=body.get("dedupe_key", ""),
            dedupe_window_seconds=body.get("dedupe_window_seconds"),
            data=body.get("data"),
            source="api",
        )
        notification = result.notification
        notification.deduplicated = result.deduplicated  # type: ignore[attr-defined]
        return Response(
            SendResultSerializer(notification).data, status=200 if result.deduplicated else 202
        )


class HistoryView(APIView):
    """Your notifications, newest first, each with its deliveries."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="notifications_history",
        tags=["notifications"],
        parameters=[
            _OWNER,
            OpenApiParameter("limit", int, default=50, description="1-200"),
            OpenApiParameter("offset", int, default=0),
            OpenApiParameter("priority", str, enum=list(PRIORITIES)),
            OpenApiParameter("status", str, enum=Notification.Status.values),
        ],
        responses={200: HistoryPageSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        owner_id = acting_owner_id(request)
        rows = Notification.objects.filter(owner_id=owner_id).prefetch_related(
            Prefetch("deliveries", queryset=DeliveryLog.objects.order_by("channel"))
        )
        for name in ("priority", "status"):
            if name in query.validated_data:
                rows = rows.filter(**{name: query.validated_data[name]})
        limit, offset = query.validated_data["limit"], query.validated_data["offset"]
        page = list(rows.order_by("-created_at")[offset : offset + limit])
        return Response(
            {
                "results": NotificationSerializer(page, many=True).data,
                "limit": limit,
                "offset": offset,
            }
        )


class TemplateListView(APIView):
    """Your templates and the shared ones (GET); create one (POST, analysts and up)."""

    def get_permissions(self) -> list[BasePermission]:
        return [AnyRole()] if self.request.method == "GET" else [IsAnalyst()]

    @extend_schema(
        operation_id="notification_templates_list",
        tags=["notifications"],
        responses={200: TemplateSerializer(many=True), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        rows = templates_visible(owner_id=acting_owner_id(request))
        return Response(TemplateSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="notification_templates_create",
        tags=["notifications"],
        request=TemplateCreateSerializer,
        responses={
            201: TemplateSerializer,
            **_ERRORS,
            409: OpenApiResponse(ErrorSerializer, description="notification_template_exists"),
        },
    )
    def post(self, request: Request) -> Response:
        body = _body(TemplateCreateSerializer, request)
        if body["shared"] and not IsAdmin().has_permission(request, self):
            raise Forbidden("only admins create shared templates")
        row = template_create(
            owner_id=None if body["shared"] else acting_owner_id(request),
            name=body["name"],
            subject=body["subject"],
            body=body["body"],
            description=body["description"],
        )
        return Response(TemplateSerializer(row).data, status=201)


class TemplateView(APIView):
    """One template: read (yours, else the shared one), replace or delete yours."""

    def get_permissions(self) -> list[BasePermission]:
        return [AnyRole()] if self.request.method == "GET" else [IsAnalyst()]

    @extend_schema(
        operation_id="notification_templates_get",
        tags=["notifications"],
        responses={200: TemplateSerializer, **_ERRORS, **_NOT_FOUND},
    )
    def get(self, request: Request, name: str) -> Response:
        row = template_visible(owner_id=acting_owner_id(request), name=name)
        return Response(TemplateSerializer(row).data)

    @extend_schema(
        operation_id="notification_templates_replace",
        tags=["notifications"],
        parameters=[_SHARED],
        request=TemplateWriteSerializer,
        responses={200: TemplateSerializer, **_ERRORS, **_NOT_FOUND},
    )
    def put(self, request: Request, name: str) -> Response:
        body = _body(TemplateWriteSerializer, request)
        row = template_replace(
            owner_id=_shared_scope(request),
            name=name,
            subject=body["subject"],
            body=body["body"],
            description=body["description"],
        )
        return Response(TemplateSerializer(row).data)

    @extend_schema(
        operation_id="notification_templates_delete",
        tags=["notifications"],
        parameters=[_SHARED],
        responses={204: None, **_ERRORS, **_NOT_FOUND},
    )
    def delete(self, request: Request, name: str) -> Response:
        template_delete(owner_id=_shared_scope(request), name=name)
        return Response(status=204)


class PreferencesView(APIView):
    """Where your notifications go: per-priority channels, destinations, quiet-hours mode."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="notification_preferences_get",
        tags=["notifications"],
        parameters=[_OWNER],
        responses={200: PreferencesSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        owner_id = acting_owner_id(request)
        return Response(_preferences_document(owner_id))

    @extend_schema(
        operation_id="notification_preferences_put",
        tags=["notifications"],
        parameters=[_OWNER],
        request=PreferencesSerializer,
        responses={200: PreferencesSerializer, **_ERRORS},
    )
    def put(self, request: Request) -> Response:
        owner_id = acting_owner_id(request)
        body = _body(PreferencesSerializer, request)
        notification_preferences_set(owner_id=owner_id, document=body)
        return Response(_preferences_document(owner_id))


def _preferences_document(owner_id: int) -> dict[str, Any]:
    row = notification_preferences_of(owner_id=owner_id)
    effective = {
        priority: list(
            delivery_plan(
                owner_id=owner_id, priority=priority, channels=None, now=timezone.now()
            ).channels
        )
        for priority in PRIORITIES
    }
    return {
        "channels_by_priority": row.channels_by_priority,
        "email": row.email,
        "telegram_chat_id": row.telegram_chat_id,
        "webhook_url": row.webhook_url,
        "quiet_hours_mode": row.quiet_hours_mode,
        # What a send without explicit channels would use now, per priority.
        "effective_channels": effective,
        "channels": list(CHANNELS),
    }
