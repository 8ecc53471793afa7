"""``manage.py secret set|delete|list``: values from stdin or a file, never from argv."""

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from domains.core.models import Secret
from domains.core.services.secrets import secret_read
from domains.core.tests.secrets.conftest import API_SECRET, credentials

pytestmark = pytest.mark.django_db


def run(*args: str, stdin: str | None = None, monkeypatch: Any = None) -> str:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("secret", *args, stdout=out)
    return out.getvalue()


def test_set_from_stdin_list_and_delete(
    make_user: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = make_user()
    said = run(
        "set",
        "webhooks/signing",
        "--user",
        owner.username,
        stdin="generic-plain\n",
        monkeypatch=monkeypatch,
    )
    assert said.strip() == "created webhooks/signing (version 1)"
    # One trailing newline (from echo or a file) is not part of the value.
    assert secret_read(owner_id=owner.pk, key="webhooks/signing", reader="t").value == (
        "generic-plain"
    )
    listing = run("list", "--user", str(owner.pk))
    assert listing.startswith("webhooks/signing\tgeneric\tv1\tvalue\t")
    assert "generic-plain" not in listing
    assert run("delete", "webhooks/signing", "--user", owner.username).strip() == (
        "deleted webhooks/signing"
    )
    assert not Secret.objects.exists()


def test_exchange_credentials_from_a_file(
    make_user: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = make_user()
    document = tmp_path / "binance.json"
    document.write_text(json.dumps(credentials()))
    said = run(
        "set",
        "exchange/binance/main",
        "-u",
        owner.username,
        "--kind",
        "exchange_credentials",
        "--file",
        str(document),
    )
    assert "created" in said
    assert API_SECRET not in said
    assert (
        secret_read(owner_id=owner.pk, key="exchange/binance/main", reader="t").fields
        == credentials()
    )
    replaced = run(
        "set",
        "exchange/binance/main",
        "-u",
        owner.username,
        "--kind",
        "exchange_credentials",
        "--expected-version",
        "1",
        stdin=json.dumps({"api_key": "k", "secret": "s"}),
        monkeypatch=monkeypatch,
    )
    assert replaced.strip() == "replaced exchange/binance/main (version 2)"


def test_the_value_is_not_an_argument(make_user: Callable[..., Any]) -> None:
    owner = make_user()
    with pytest.raises(CommandError):
        call_command("secret", "set", "k", "--user", owner.username, "the-value")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["set", "k", "-u", "nobody"], "v", "no user 'nobody'"),
        (["set", "BAD KEY", "-u", "{user}"], "v", "secret_invalid"),
        (
            ["set", "k", "-u", "{user}", "-k", "exchange_credentials"],
            "{broken",
            "invalid JSON at line 1",
        ),
        (
            ["set", "k", "-u", "{user}", "-k", "exchange_credentials"],
            '{"api_key": "k"}',
            "secret_invalid",
        ),
        (["set", "k", "-u", "{user}", "--file", "/nonexistent/file"], None, "cannot read"),
        (["delete", "missing", "-u", "{user}"], None, "secret_not_found"),
    ],
)
def test_bad_input_exits_with_a_reason(
    make_user: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    stdin: str | None,
    message: str,
) -> None:
    owner = make_user()
    argv = [arg.replace("{user}", owner.username) for arg in args]
    with pytest.raises(CommandError, match=message) as failure:
        run(*argv, stdin=stdin, monkeypatch=monkeypatch)
    assert "{broken" not in str(failure.value)  # a value never comes back in an error
