"""Secrets are encrypted at rest with MultiFernet, and key rotation never loses a secret."""

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from domains.core.api import SecretUndecryptable
from domains.core.models import AuditEntry, Secret
from domains.core.services.secrets import secret_read, secret_set, secrets_rotate
from domains.core.tests.secrets.conftest import API_SECRET, credentials

pytestmark = pytest.mark.django_db


def test_the_database_holds_ciphertext_only(make_user: Callable[..., Any]) -> None:
    owner = make_user()
    secret_set(
        owner_id=owner.pk,
        key="exchange/binance/main",
        kind="exchange_credentials",
        value=credentials(),
    )
    row = Secret.objects.get(owner=owner)
    assert API_SECRET not in row.ciphertext
    assert row.fields == ["api_key", "passphrase", "secret"]
    # The raw column, as the database has it.
    raw = Secret.objects.filter(pk=row.pk).values_list("ciphertext", flat=True).get()
    assert raw.startswith("gAAAA")  # a Fernet token (version byte 0x80)
    revealed = secret_read(owner_id=owner.pk, key="exchange/binance/main", reader="test")
    assert revealed.fields == credentials()
    assert "s3cr3t" not in repr(revealed)


def test_old_ciphertexts_read_after_the_keys_rotate_and_after_the_command(
    make_user: Callable[..., Any], settings: Any, fernet_keys: Callable[[], str]
) -> None:
    old_key, new_key = fernet_keys(), fernet_keys()
    settings.DSTA_SECRETS_KEYS = [old_key]
    owner = make_user()
    for number in range(5):  # more rows than one batch below
        secret_set(
            owner_id=owner.pk, key=f"generic/n{number}", kind="generic", value=f"value-{number}"
        )
    old_tokens = dict(Secret.objects.values_list("key", "ciphertext"))
    assert all(Fernet(old_key.encode()).decrypt(t.encode()) for t in old_tokens.values())

    # 1. The new key goes first; the old one stays: everything still reads.
    settings.DSTA_SECRETS_KEYS = [new_key, old_key]
    assert secret_read(owner_id=owner.pk, key="generic/n3", reader="test").value == "value-3"

    # 2. The command re-encrypts everything with the new key, in batches.
    out = StringIO()
    call_command("rotate_secrets", "--batch-size", "2", stdout=out)
    assert "rotated 5 of 5" in out.getvalue()
    new_tokens = dict(Secret.objects.values_list("key", "ciphertext"))
    for key, token in new_tokens.items():
        assert token != old_tokens[key]
        Fernet(new_key.encode()).decrypt(token.encode())  # opens with the new key alone
        with pytest.raises(InvalidToken):
            Fernet(old_key.encode()).decrypt(token.encode())
    # An old ciphertext (a backup, say) still reads while the old key is listed.
    row = Secret.objects.get(key="generic/n0")
    row.ciphertext = old_tokens["generic/n0"]
    row.save()
    assert secret_read(owner_id=owner.pk, key="generic/n0", reader="test").value == "value-0"

    # 3. Once rotated, the old key can go: the rotated secrets read with the new key alone.
    secrets_rotate()
    settings.DSTA_SECRETS_KEYS = [new_key]
    for number in range(5):
        assert secret_read(owner_id=owner.pk, key=f"generic/n{number}", reader="t").value == (
            f"value-{number}"
        )
    assert AuditEntry.objects.filter(action="secret.rotated").count() == 2


def test_a_second_rotation_changes_nothing(
    make_user: Callable[..., Any], settings: Any, fernet_keys: Callable[[], str]
) -> None:
    settings.DSTA_SECRETS_KEYS = [fernet_keys()]
    owner = make_user()
    secret_set(owner_id=owner.pk, key="a", kind="generic", value="x")
    report = secrets_rotate()
    assert (report.total, report.rotated) == (1, 0)  # already under the primary key


def test_a_dropped_key_is_a_clear_error_not_garbage(
    make_user: Callable[..., Any], settings: Any, fernet_keys: Callable[[], str]
) -> None:
    settings.DSTA_SECRETS_KEYS = [fernet_keys()]
    owner = make_user()
    secret_set(owner_id=owner.pk, key="lost", kind="generic", value="x")
    settings.DSTA_SECRETS_KEYS = [fernet_keys()]  # the old key is gone
    with pytest.raises(SecretUndecryptable):
        secret_read(owner_id=owner.pk, key="lost", reader="test")
    with pytest.raises(SecretUndecryptable) as refused:
        secrets_rotate()
    assert refused.value.details == {"owner_id": owner.pk, "key": "lost"}


def test_a_ciphertext_moved_to_another_row_does_not_open(make_user: Callable[..., Any]) -> None:
    alice, mallory = make_user(), make_user()
    secret_set(owner_id=alice.pk, key="k", kind="generic", value="alice's")
    secret_set(owner_id=mallory.pk, key="k", kind="generic", value="mallory's")
    stolen = Secret.objects.get(owner=alice).ciphertext
    Secret.objects.filter(owner=mallory).update(ciphertext=stolen)
    with pytest.raises(SecretUndecryptable):
        secret_read(owner_id=mallory.pk, key="k", reader="test")


def test_a_malformed_key_list_is_a_configuration_error(
    make_user: Callable[..., Any], settings: Any
) -> None:
    settings.DSTA_SECRETS_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="#1") as failure:
        secret_set(owner_id=make_user().pk, key="k", kind="generic", value="v")
    assert "not-a-fernet-key" not in str(failure.value)
    settings.DSTA_SECRETS_KEYS = []
    with pytest.raises(ImproperlyConfigured):
        secret_set(owner_id=make_user().pk, key="k", kind="generic", value="v")
