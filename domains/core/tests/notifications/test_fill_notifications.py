"""A fill tells the account's owner: core subscribes to the exchange's OrderFilled."""

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domains.core.models import Notification
from domains.exchange.events import OrderFilled
from dsta.kernel.bus import publish

pytestmark = pytest.mark.django_db(transaction=True)


ACCOUNT = uuid4()


def fill(owner_id: int | None, fill_id: str = "t-1", account_id: UUID = ACCOUNT) -> OrderFilled:
    return OrderFilled(
        fill_id=fill_id,
        account_id=account_id,
        owner_id=owner_id,
        venue="paper",
        symbol="BTC/USDT",
        client_order_id="dsta0123",
        venue_order_id="42",
        side="buy",
        price=Decimal("101.5"),
        amount=Decimal("0.25"),
        fee=Decimal("0.025375"),
        fee_currency="USDT",
        liquidity="taker",
        filled_at=datetime(2026, 11, 25, tzinfo=UTC),
    )


def test_a_fill_notifies_the_account_owner_once(make_user: Callable[..., Any]) -> None:
    user = make_user()
    publish(fill(user.pk))
    publish(fill(user.pk))  # the venue reported the same fill twice

    [notification] = Notification.objects.filter(owner=user)
    assert notification.priority == "low"
    assert notification.subject == "buy 0.25 BTC/USDT @ 101.5"
    assert "fee 0.025375 USDT" in notification.body
    assert notification.data["client_order_id"] == "dsta0123"


def test_a_fill_without_a_known_owner_notifies_nobody() -> None:
    publish(fill(None, fill_id="t-2"))
    assert not Notification.objects.exists()


def test_the_same_trade_id_on_two_accounts_is_two_fills(make_user: Callable[..., Any]) -> None:
    # Both sides of a trade between two accounts of one user carry the venue's one trade id.
    user = make_user()
    publish(fill(user.pk, fill_id="t-3", account_id=uuid4()))
    publish(fill(user.pk, fill_id="t-3", account_id=uuid4()))
    assert Notification.objects.filter(owner=user).count() == 2
