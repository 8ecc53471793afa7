"""The append-only audit log: record an entry, read a page of entries.

Entries are written by core itself (logins, keys, users, config changes) and by other domains
through ``AuditApi.record`` (orders, risk limits, circuit breakers, secret reads). ``details``
is scrubbed of anything named like a credential before it is stored: a caller's mistake must
not put a secret into the log.
"""

import ipaddress
import json
import re
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model

from domains.core.api import (
    AUDIT_ACTION_PATTERN,
    AUDIT_TARGET_MAX_LENGTH,
    AuditActionInvalid,
    AuditApi,
    AuditRecord,
)
from domains.core.models import AuditEntry
from dsta.kernel.errors import InvalidInput
from dsta.kernel.observability.context import request_id_var

ACTION_MAX_LENGTH = 64
SOURCE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
DETAILS_MAX_BYTES = 8 * 1024
PAGE_MAX_LIMIT = 500
# Keys whose values are never stored, whatever a caller passes.
_SECRET_NAME = re.compile(r"pass(word)?|secret|token|api[_-]?key|authorization|credential", re.I)
REDACTED = "[redacted]"


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            str(key): REDACTED if _SECRET_NAME.search(str(key)) else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def _clean_ip(ip: str) -> str | None:
    if not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError as exc:
        raise InvalidInput(f"not an IP address: {ip!r}", details={"field": "ip"}) from exc


def _username_of(user_id: int | None) -> str:
    if user_id is None:
        return ""
    names = get_user_model().objects.filter(pk=user_id).values_list("username", flat=True)
    return next(iter(names), "")


def audit_record(
    *,
    action: str,
    user_id: int | None = None,
    username: str = "",
    target: str = "",
    details: dict[str, Any] | None = None,
    ip: str = "",
    source: str = "core",
) -> AuditEntry:
    """Append one entry and return it. Raises AuditActionInvalid or InvalidInput."""
    action = str(action)
    if len(action) > ACTION_MAX_LENGTH or not AUDIT_ACTION_PATTERN.match(action):
        raise AuditActionInvalid(
            f"audit action must be a dotted lower-case name like 'order.placed', got {action!r}"
        )
    if len(target) > AUDIT_TARGET_MAX_LENGTH:
        raise InvalidInput(f"target is longer than {AUDIT_TARGET_MAX_LENGTH} characters")
    if source and not SOURCE_PATTERN.match(source):
        raise InvalidInput(f"source must be a domain name like 'trading', got {source!r}")
    scrubbed = _scrub(details or {})
    try:
        size = len(json.dumps(scrubbed))
    except (TypeError, ValueError) as exc:
        raise InvalidInput("details must be JSON") from exc
    if size > DETAILS_MAX_BYTES:
        raise InvalidInput(f"details are larger than {DETAILS_MAX_BYTES} bytes of JSON")
    request_id = request_id_var.get()
    return AuditEntry.objects.create(
        action=action,
        user_id=user_id,
        username=username or _username_of(user_id),
        target=target,
        details=scrubbed,
        ip=_clean_ip(ip),
        source=source,
        request_id="" if request_id == "-" else request_id[:64],
    )


def audit_entries(
    *,
    user_id: int | None,
    actions: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """A page of entries, newest first. ``user_id`` None means everyone's (admins);
    ``before_id`` continues after the last entry of the previous page."""
    entries = AuditEntry.objects.all()
    if user_id is not None:
        entries = entries.filter(user_id=user_id)
    if actions:
        entries = entries.filter(action__in=actions)
    if since is not None:
        entries = entries.filter(occurred_at__gte=since)
    if until is not None:
        entries = entries.filter(occurred_at__lt=until)
    if before_id is not None:
        entries = entries.filter(id__lt=before_id)
    return list(entries.order_by("-id")[: max(1, min(limit, PAGE_MAX_LIMIT))])


def serialize_audit_entry(entry: AuditEntry) -> AuditRecord:
    """The DTO of a stored entry."""
    return AuditRecord(
        id=entry.pk,
        occurred_at=entry.occurred_at,
        action=entry.action,
        user_id=entry.user_id,
        username=entry.username,
        target=entry.target,
        details=dict(entry.details or {}),
        ip=entry.ip or "",
        source=entry.source,
    )


class AuditService(AuditApi):
    """The in-process implementation of AuditApi."""

    def record(
        self,
        *,
        action: str,
        user_id: int | None = None,
        target: str = "",
        details: dict[str, Any] | None = None,
        ip: str = "",
        source: str = "",
    ) -> AuditRecord:
        """See AuditApi.record."""
        entry = audit_record(
            action=action,
            user_id=user_id,
            target=target,
            details=details,
            ip=ip,
            source=source or "unknown",
        )
        return serialize_audit_entry(entry)
