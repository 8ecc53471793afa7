"""Fixtures of the secrets tests: users with roles, fresh Fernet keys, audit entries."""

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Group

from domains.core.models import AuditEntry

# Plaintexts the tests plant, so a leak can be grepped for anywhere.
API_KEY = "AKIA-test-api-key-4f1c9e"
API_SECRET = "s3cr3t-exchange-secret-9b7d2a"
PASSPHRASE = "pass-phrase-71c0"


@pytest.fixture
def make_user(django_user_model: Any) -> Callable[..., Any]:
    """``make_user(role="trader")`` creates a user holding exactly that role."""

    def make(role: str = "trader", **extra: Any) -> Any:
        user = django_user_model.objects.create_user(username=f"u{uuid4().hex[:10]}", **extra)
        user.groups.set([Group.objects.get_or_create(name=role)[0]])
        return user

    return make


@pytest.fixture
def fernet_keys() -> Callable[[], str]:
    """``fernet_keys()`` makes a new random Fernet key (text)."""
    return lambda: Fernet.generate_key().decode()


def audit_actions(user_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(action, target, details) of a user's audit entries, oldest first."""
    rows = AuditEntry.objects.filter(user_id=user_id).order_by("id")
    return [(row.action, row.target, dict(row.details)) for row in rows]


def credentials() -> dict[str, str]:
    return {"api_key": API_KEY, "secret": API_SECRET, "passphrase": PASSPHRASE}
