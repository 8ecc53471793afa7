"""Admin: outbox rows are read-only, dead letters can be retried, receipts are listed."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dsta.kernel.bus import publish
from dsta.kernel.bus.models import OutboxMessage
from dsta.kernel.bus.tests.brokers import Recorder
from dsta.kernel.bus.tests.conftest import Subscriptions, unique_subscriber
from dsta.kernel.bus.tests.sample_events import OrderFilled

pytestmark = pytest.mark.django_db(transaction=True)
State = OutboxMessage.State


def test_outbox_changelist_filters_and_retries_dead_letters(
    admin_client: Client, subscriptions: Subscriptions, settings: Any
) -> None:
    settings.BUS_MAX_ATTEMPTS = 1
    recorder = Recorder(failures=1)
    subscriptions.add(OrderFilled, recorder, unique_subscriber())
    fill = OrderFilled(order_id="o-1")
    publish(fill)
    row = OutboxMessage.objects.get(event_id=fill.id)
    assert row.state == State.DEAD

    url = reverse("admin:bus_outboxmessage_changelist")
    page = admin_client.get(url, {"state__exact": "dead"})
    assert page.status_code == 200
    assert OrderFilled.name in page.content.decode()
    assert admin_client.get(reverse("admin:bus_outboxmessage_add")).status_code == 403

    response = admin_client.post(
        url, {"action": "retry_dead_letters", "_selected_action": [row.pk]}, follow=True
    )
    assert "1 dead letter(s) queued for delivery" in response.content.decode()
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.PENDING, 0)

    receipts = admin_client.get(reverse("admin:bus_inboxreceipt_changelist"))
    assert receipts.status_code == 200
