"""The sample api's contract suite, run against the local and the remote binding.

This is the pattern a domain's ``tests/test_contract.py`` follows: one suite, a fixture
parametrized over the bindings, identical expectations.
"""

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from dsta.kernel.errors import Conflict
from dsta.kernel.observability.context import request_id_var
from dsta.kernel.rpc.client import RemoteClient
from dsta.kernel.rpc.testing import BINDING_PARAMS, RpcBinder
from dsta.kernel.rpc.tests.sample_api import Fee, Fill, FillRejected, FillsApi, Quote, Side


@pytest.fixture(params=BINDING_PARAMS)
def fills(request: pytest.FixtureRequest, rpc_binding: RpcBinder) -> FillsApi:
    return rpc_binding(FillsApi, request.param)


def make_fill(**changes: object) -> Fill:
    values: dict[str, object] = {
        "fill_id": uuid.uuid4(),
        "side": Side.SELL,
        "price": Decimal("43123.10"),
        "amount": Decimal("0.00012000"),
        "filled_at": datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=UTC),
        "fee": Fee(asset="USDT", amount=Decimal("0.0051747720")),
        "tags": ["maker", "twap"],
        "note": None,
    }
    values.update(changes)
    return Fill(**values)  # type: ignore[arg-type]


def test_the_binding_is_the_one_asked_for(request: pytest.FixtureRequest, fills: FillsApi) -> None:
    remote = request.node.callspec.params["fills"] == "remote"
    assert isinstance(fills, RemoteClient) is remote


def test_a_nested_dataclass_round_trips_exactly(fills: FillsApi) -> None:
    fill = make_fill(
        note="partial", filled_at=datetime(2024, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    )

    echoed = fills.echo_fill(fill=fill)

    assert echoed == fill
    assert isinstance(echoed.fee, Fee)
    assert echoed.side is Side.SELL
    # Decimal keeps its exponent: "43123.10" is not "43123.1" and not a float.
    assert str(echoed.price) == "43123.10"
    assert str(echoed.fee.amount) == "0.0051747720"
    assert echoed.filled_at.utcoffset() == timedelta(hours=2)


def test_decimals_in_lists_and_dicts_sum_without_float_error(fills: FillsApi) -> None:
    total = fills.total_notional(
        fills=[make_fill(price=Decimal("0.1"), amount=Decimal("3")), make_fill()],
        extra={"rebate": Decimal("-0.000000000000000001"), "big": Decimal("1e20")},
    )

    expected = (
        Decimal("0.3")
        + Decimal("43123.10") * Decimal("0.00012000")
        + Decimal("-0.000000000000000001")
        + Decimal("1e20")
    )
    assert total == expected
    assert isinstance(total, Decimal)


def test_optional_results_are_the_dto_or_none(fills: FillsApi) -> None:
    wanted = make_fill()
    population = [make_fill(), wanted]

    assert fills.find_fill(fill_id=wanted.fill_id, fills=population) == wanted
    assert fills.find_fill(fill_id=uuid.uuid4(), fills=population) is None


def test_a_pydantic_dto_comes_back_and_defaults_apply(fills: FillsApi) -> None:
    quote = fills.quote(symbol="BTC/USDT", mid=Decimal("100.00"))

    assert quote == Quote(
        symbol="BTC/USDT",
        bid=Decimal("99.75"),
        ask=Decimal("100.25"),
        quoted_at=datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    )
    assert fills.quote(symbol="ETH/USDT", mid=Decimal(10), spread=Decimal("2")).bid == 9


def test_enums_cross_in_both_directions(fills: FillsApi) -> None:
    assert fills.sides() == [Side.BUY, Side.SELL]
    assert fills.sides(side=Side.BUY) == [Side.BUY]
    assert fills.sides(side=None) == [Side.BUY, Side.SELL]


def test_a_domain_error_is_raised_as_the_same_class(fills: FillsApi) -> None:
    with pytest.raises(FillRejected) as raised:
        fills.reject(reason="post-only would cross")

    assert isinstance(raised.value, Conflict)
    assert raised.value.status == 409
    assert raised.value.message == "fill rejected"
    assert raised.value.details == {"reason": "post-only would cross"}


def test_the_request_id_reaches_the_implementation(fills: FillsApi) -> None:
    token = request_id_var.set(f"trace-{uuid.uuid4().hex}")
    try:
        assert fills.current_request_id() == request_id_var.get()
    finally:
        request_id_var.reset(token)


def test_keyword_arguments_are_required(fills: FillsApi) -> None:
    with pytest.raises(TypeError):
        fills.echo_fill(make_fill())  # type: ignore[call-arg]


@pytest.mark.django_db(transaction=True)
def test_both_bindings_see_the_same_committed_rows(fills: FillsApi) -> None:
    prefix = f"rpc-{uuid.uuid4().hex[:12]}-"
    get_user_model().objects.create_user(username=f"{prefix}alice", password=None)

    assert fills.count_users(username_prefix=prefix) == 1
