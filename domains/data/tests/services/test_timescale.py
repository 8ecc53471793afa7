import pytest
from django.db import connection

from domains.data.services.timescale import candle_hypertable_enable, timescaledb_state

pytestmark = pytest.mark.django_db


def test_detection_matches_what_the_server_has():
    state = timescaledb_state(connection)
    if connection.vendor != "postgresql":
        assert state == "not_postgresql"
        assert candle_hypertable_enable(connection) is False
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension")
        installed = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT name FROM pg_available_extensions")
        available = {row[0] for row in cursor.fetchall()}
    expected = (
        "installed"
        if "timescaledb" in installed
        else "available"
        if "timescaledb" in available
        else "absent"
    )
    assert state == expected


def test_plain_postgresql_keeps_a_plain_candle_table():
    if connection.vendor != "postgresql" or timescaledb_state(connection) != "absent":
        pytest.skip("needs PostgreSQL without TimescaleDB (the plain-table path)")
    assert candle_hypertable_enable(connection) is False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'data_candle'")
        assert cursor.fetchone() == ("r",)


def test_off_setting_skips_timescaledb(settings):
    settings.DSTA_TIMESCALEDB = "off"
    assert candle_hypertable_enable(connection) is False
