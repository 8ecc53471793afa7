"""Admin pages of the paper exchange render; orders and fills cannot be edited there."""

from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from django.test import Client

from domains.exchange.api import OrderRequest, OrderSide, OrderType
from domains.exchange.models import PaperOrder
from domains.exchange.services.paper.service import PaperExchange
from domains.exchange.tests.factories import book

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(django_user_model: Any) -> Client:
    admin = django_user_model.objects.create_superuser(username="exchange-admin", email="")
    client = Client()
    client.force_login(admin)
    return client


def test_paper_pages_render_and_orders_are_read_only(
    browser: Client, paper: PaperExchange, account: UUID
):
    paper.feed_book(book=book(bids=[("99", "1")], asks=[("101", "1")]))
    paper.place_order(
        account_id=account,
        request=OrderRequest(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            type=OrderType.LIMIT,
            amount=Decimal("0.5"),
            price=Decimal(101),
        ),
    )
    order = PaperOrder.objects.get(account_id=account)
    for url in (
        "/admin/exchange/paperaccount/",
        f"/admin/exchange/paperaccount/{account}/change/",
        "/admin/exchange/paperorder/",
        f"/admin/exchange/paperorder/{order.pk}/change/",
        "/admin/exchange/paperfill/",
        "/admin/exchange/papermarket/",
    ):
        assert browser.get(url).status_code == 200, url
    assert browser.get("/admin/exchange/paperaccount/add/").status_code == 403
    assert (
        browser.post(
            f"/admin/exchange/paperorder/{order.pk}/change/", {"status": "canceled"}
        ).status_code
        == 403
    )
    order.refresh_from_db()
    assert order.status == "filled"
