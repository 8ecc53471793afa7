"""``SecretsApi.reveal``: plaintext for the exchange domain's code only, every read audited.

The exchange domain's calls are made from code whose module is under ``domains.exchange``
(compiled here with that module name): the caller is identified by where the calling code
lives, in-process, and by the calling process's identity over the remote binding.
"""

from collections.abc import Callable
from typing import Any

import pytest

from domains.core.api import (
    SecretInfo,
    SecretNotFound,
    SecretRevealForbidden,
    SecretsApi,
    SecretValue,
    secrets_api,
)
from domains.core.models import AuditEntry
from domains.core.services.secrets import SecretsService, secret_set
from domains.core.tests.secrets.conftest import API_SECRET, credentials
from dsta.kernel.rpc.testing import BINDING_PARAMS, RpcBinder

pytestmark = pytest.mark.django_db(transaction=True)


def calling_from(module: str) -> Callable[..., SecretValue]:
    """A function whose frame belongs to ``module``: it calls ``api.reveal(**arguments)``."""
    namespace: dict[str, Any] = {"__name__": module}
    exec("def reveal(api, **arguments):\n    return api.reveal(**arguments)\n", namespace)
    return namespace["reveal"]


as_exchange = calling_from("domains.exchange.services.credentials")
as_trading = calling_from("domains.trading.services.orders")


@pytest.fixture(params=BINDING_PARAMS)
def secrets(request: pytest.FixtureRequest, rpc_binding: RpcBinder) -> SecretsApi:
    return rpc_binding(SecretsApi, request.param)


@pytest.fixture
def owner(make_user: Callable[..., Any]) -> Any:
    user = make_user("trader")
    secret_set(
        owner_id=user.pk,
        key="exchange/binance/main",
        kind="exchange_credentials",
        value=credentials(),
    )
    return user


def reads_of(owner: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(user_id=owner.pk, action="secret.read"))


def test_the_exchange_domain_reads_the_plaintext_and_the_read_is_audited(
    secrets: SecretsApi, owner: Any
) -> None:
    revealed = as_exchange(
        secrets, owner_id=owner.pk, key="exchange/binance/main", caller="exchange"
    )
    assert isinstance(revealed, SecretValue)
    assert (revealed.api_key, revealed.secret) == (credentials()["api_key"], API_SECRET)
    assert revealed.passphrase == credentials()["passphrase"]
    assert (revealed.kind, revealed.version, revealed.owner_id) == (
        "exchange_credentials",
        1,
        owner.pk,
    )
    assert API_SECRET not in repr(revealed)
    [read] = reads_of(owner)
    assert read.target == "secret:exchange/binance/main"
    assert read.details == {"reader": "exchange", "version": 1, "kind": "exchange_credentials"}
    [info] = secrets.list_secrets(owner_id=owner.pk)
    assert isinstance(info, SecretInfo)
    assert info.last_read_at is not None


@pytest.mark.parametrize("claimed", ["exchange", "trading", "core", ""])
def test_code_of_another_domain_is_refused_whatever_it_claims(
    secrets: SecretsApi, owner: Any, claimed: str
) -> None:
    with pytest.raises(SecretRevealForbidden) as refused:
        as_trading(secrets, owner_id=owner.pk, key="exchange/binance/main", caller=claimed)
    assert refused.value.status == 403
    assert refused.value.details["calling_domain"] == "trading"
    assert reads_of(owner) == []
    assert AuditEntry.objects.filter(user_id=owner.pk, action="secret.reveal_refused").count() == 1


def test_code_outside_the_exchange_domain_is_refused(secrets: SecretsApi, owner: Any) -> None:
    # This test module is core's code: not the exchange domain, even if it says so.
    with pytest.raises(SecretRevealForbidden):
        secrets.reveal(owner_id=owner.pk, key="exchange/binance/main", caller="exchange")
    # A script or shell (no domain module at all) is refused too.
    with pytest.raises(SecretRevealForbidden):
        calling_from("__main__")(
            secrets, owner_id=owner.pk, key="exchange/binance/main", caller="exchange"
        )
    assert reads_of(owner) == []


def test_the_exchange_sees_not_found_for_a_missing_secret(
    secrets: SecretsApi, owner: Any, make_user: Callable[..., Any]
) -> None:
    with pytest.raises(SecretNotFound):
        as_exchange(secrets, owner_id=owner.pk, key="exchange/gateio/main", caller="exchange")
    # Another user's secret of the same key is not theirs to read.
    with pytest.raises(SecretNotFound):
        as_exchange(
            secrets, owner_id=make_user().pk, key="exchange/binance/main", caller="exchange"
        )


def test_the_registry_hands_out_the_service() -> None:
    assert isinstance(secrets_api(), SecretsService)
