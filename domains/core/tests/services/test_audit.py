"""The audit log is append-only, scrubs credentials, and records config changes by event."""

from typing import Any

import pytest

from domains.core.api import AuditActionInvalid
from domains.core.models import AppendOnlyError, AuditEntry
from domains.core.services.audit import AuditService, audit_record
from domains.core.services.config import ConfigService
from domains.core.tests.conftest import KeyFactory
from domains.core.tests.people import make_user
from dsta.kernel.errors import InvalidInput


@pytest.mark.django_db
def test_entries_cannot_be_changed_or_deleted() -> None:
    entry = audit_record(action="order.placed", target="order:1")
    entry.target = "order:2"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(target="order:3")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).target == "order:1"


@pytest.mark.django_db
def test_entries_outlive_their_user() -> None:
    user = make_user()
    audit_record(action="order.placed", user_id=user.pk)
    user_id, username = user.pk, user.username
    user.delete()
    entry = AuditEntry.objects.get(user_id=user_id, action="order.placed")
    assert entry.username == username


@pytest.mark.django_db
def test_other_domains_record_through_the_api_and_credentials_are_scrubbed() -> None:
    user = make_user()
    record = AuditService().record(
        action="order.placed",
        user_id=user.pk,
        target="order:7",
        details={"amount": "0.1", "api_key": "dsta_x", "nested": {"password": "p", "ok": 1}},
        ip="192.0.2.1",
        source="trading",
    )
    assert (record.action, record.user_id, record.username, record.source) == (
        "order.placed",
        user.pk,
        user.username,
        "trading",
    )
    assert record.details == {
        "amount": "0.1",
        "api_key": "[redacted]",
        "nested": {"password": "[redacted]", "ok": 1},
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"action": "Order Placed"}, AuditActionInvalid),
        ({"action": "order"}, AuditActionInvalid),
        ({"action": "order.placed", "ip": "not-an-ip"}, InvalidInput),
        ({"action": "order.placed", "target": "x" * 201}, InvalidInput),
        ({"action": "order.placed", "details": {"blob": "x" * 9000}}, InvalidInput),
        ({"action": "order.placed", "details": {"when": object()}}, InvalidInput),
        ({"action": "order.placed", "source": "Trading!"}, InvalidInput),
    ],
)
def test_bad_records_are_refused(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        AuditService().record(**kwargs)


@pytest.mark.django_db(transaction=True)
def test_a_config_change_is_audited_through_the_event(make_key: KeyFactory) -> None:
    key = make_key()
    writer = make_user("admin")
    ConfigService().set(key=key, value=4, environment="paper", actor_id=writer.pk)
    entry = AuditEntry.objects.get(action="config.changed", target=f"config:{key}@paper")
    assert entry.user_id == writer.pk
    assert entry.details == {"key": key, "environment": "paper", "version": 1}
