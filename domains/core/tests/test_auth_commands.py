"""``manage.py create_user`` and ``manage.py create_api_key``."""

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from domains.core.models import ApiKey
from domains.core.services.api_keys import api_key_authenticate, hash_key
from domains.core.services.roles import user_roles
from domains.core.tests.people import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_user_with_a_password_file_and_a_role(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    output = run("create_user", "carol", "--role", "trader", "--password-file", str(secret))
    assert "created user carol" in output
    assert PASSWORD not in output
    carol = get_user_model().objects.get(username="carol")
    assert user_roles(carol) == ("trader",)
    assert carol.check_password(PASSWORD)
    assert not carol.is_staff


def test_create_user_generates_and_prints_a_password_once() -> None:
    output = run("create_user", "dave", "--role", "admin", "--generate-password")
    password = output.split("password: ", 1)[1].strip()
    dave = get_user_model().objects.get(username="dave")
    assert dave.check_password(password)
    assert dave.is_staff  # admins may use the admin site


def test_create_user_refuses_bad_input(tmp_path: Path) -> None:
    weak = tmp_path / "weak"
    weak.write_text("12345678")
    with pytest.raises(CommandError, match="password_rejected"):
        run("create_user", "erin", "--role", "viewer", "--password-file", str(weak))
    with pytest.raises(CommandError, match="cannot read"):
        run("create_user", "erin", "--role", "viewer", "--password-file", str(tmp_path / "none"))
    with pytest.raises(CommandError):
        run("create_user", "erin", "--role", "pope", "--generate-password")
    taken = make_user()
    with pytest.raises(CommandError, match="username_taken"):
        run("create_user", taken.username, "--role", "viewer", "--generate-password")


def test_create_api_key_prints_the_key_once_and_stores_its_hash() -> None:
    trader = make_user("trader")
    output = run("create_api_key", trader.username, "--scopes", "read,trade", "--expires-in", "30d")
    key = output.strip().splitlines()[-1]
    row = ApiKey.objects.get(user=trader)
    assert row.key_hash == hash_key(key)
    assert row.scopes == ["read", "trade"]
    assert row.expires_at is not None
    assert timedelta(days=29, hours=23) < row.expires_at - timezone.now() <= timedelta(days=30)
    assert api_key_authenticate(key).user_id == trader.pk


def test_create_api_key_refuses_bad_input() -> None:
    viewer = make_user("viewer")
    with pytest.raises(CommandError, match="scope_not_allowed"):
        run("create_api_key", viewer.username, "--scopes", "trade")
    with pytest.raises(CommandError, match="duration"):
        run("create_api_key", viewer.username, "--scopes", "read", "--expires-in", "soon")
    with pytest.raises(CommandError, match="no user"):
        run("create_api_key", "nobody-here", "--scopes", "read")
    with pytest.raises(CommandError, match="invalid_input"):
        run("create_api_key", viewer.username, "--scopes", "root")
