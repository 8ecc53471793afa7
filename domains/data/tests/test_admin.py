import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from domains.data.services.gaps import find_gaps
from domains.data.services.store import candles_upsert
from domains.data.tests.conftest import NOW_MS
from domains.data.tests.factories import candles, series_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client):
    user = get_user_model().objects.create_superuser("data-admin", "a@example.com", "pw-123-long")
    client.force_login(user)
    return client


def test_series_quarantine_and_gap_pages_show_coverage(admin_client_logged_in):
    key = series_key()
    frame = candles(30)
    frame.loc[5, "volume"] = -1.0
    candles_upsert(series=key, frame=frame.drop(index=[10, 11]), now_ms=NOW_MS)
    find_gaps(series=key)

    series_page = admin_client_logged_in.get(reverse("admin:data_series_changelist"))
    assert series_page.status_code == 200
    body = series_page.content.decode()
    assert key.symbol in body
    assert "2024-01-01 00:00 UTC" in body
    assert "90.00 %" in body  # 27 stored of the 30 bars between first and last

    quarantine_page = admin_client_logged_in.get(reverse("admin:data_quarantinedrow_changelist"))
    assert quarantine_page.status_code == 200
    assert "volume is negative" in quarantine_page.content.decode()
    gaps_page = admin_client_logged_in.get(reverse("admin:data_datagap_changelist"))
    assert gaps_page.status_code == 200
    assert "2024-01-01 00:10 UTC" in gaps_page.content.decode()
