"""Admin: ingestion jobs with their kernel job's status, and the series keep-up switch."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from domains.data.models import Series
from domains.data.services.ingestion import sync_start
from domains.data.tests.factories import T0, series_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client: Any) -> Any:
    user = get_user_model().objects.create_superuser("ingest-admin", "i@example.com", "pw-1-long")
    client.force_login(user)
    return client


def test_ingestion_jobs_page_shows_range_progress_and_status(admin_client_logged_in: Any) -> None:
    key = series_key("1h")
    info = sync_start(series=key, start=T0, end=T0 + 24 * 3_600_000)

    page = admin_client_logged_in.get(reverse("admin:data_ingestionjob_changelist"))

    assert page.status_code == 200
    body = page.content.decode()
    assert key.symbol in body
    assert "queued" in body  # the kernel job's status, read through its api
    assert "2024-01-02 00:00 UTC" in body
    detail = admin_client_logged_in.get(
        reverse("admin:data_ingestionjob_changelist") + f"?q={info.id}"
    )
    assert key.symbol in detail.content.decode()
    add = admin_client_logged_in.get(reverse("admin:data_ingestionjob_add"))
    assert add.status_code == 403


def test_series_can_be_switched_to_keep_up(admin_client_logged_in: Any) -> None:
    key = series_key("1m")
    record = Series.objects.create(**key.as_dict())
    response = admin_client_logged_in.post(
        reverse("admin:data_series_changelist"),
        {"action": "keep_up_on", "_selected_action": [record.pk]},
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.keep_up
    page = admin_client_logged_in.get(reverse("admin:data_series_changelist") + "?keep_up__exact=1")
    assert key.symbol in page.content.decode()
