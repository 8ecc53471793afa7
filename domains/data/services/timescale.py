"""TimescaleDB for the candle table, used when the server has the extension, plain tables otherwise.

We do not use the ``django-timescaledb`` package: its last release is from 2023 and its database
backend runs ``CREATE EXTENSION timescaledb`` on every connect, which fails on a plain PostgreSQL
server. Here the migration asks the server what it has and converts the table only then.

With TimescaleDB ``data_candle`` becomes a hypertable chunked by ``open_time`` (7 days of
milliseconds per chunk), compressed after 30 days, segmented by series and ordered by open time,
so a series' range scan reads a few compressed column batches. The primary key already includes
``open_time``, which hypertables require of every unique index.
"""

import logging
from typing import Literal

from django.conf import settings
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import DatabaseError

logger = logging.getLogger(__name__)

TimescaleState = Literal["installed", "available", "absent", "not_postgresql"]
CHUNK_MS = 7 * 24 * 3600 * 1000
COMPRESS_AFTER_MS = 30 * 24 * 3600 * 1000
SEGMENT_BY = "venue, market_type, symbol, price_type, timeframe"

HYPERTABLE_SQL = [
    # Integer time needs a "now" in the same unit for the compression policy to work out ages.
    """CREATE OR REPLACE FUNCTION data_candle_now_ms() RETURNS bigint LANGUAGE SQL STABLE AS
       $$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$""",
    f"""SELECT create_hypertable('data_candle', 'open_time',
       chunk_time_interval => {CHUNK_MS}::bigint, migrate_data => true, if_not_exists => true)""",
    "SELECT set_integer_now_func('data_candle', 'data_candle_now_ms', replace_if_exists => true)",
    f"""ALTER TABLE data_candle SET (timescaledb.compress,
       timescaledb.compress_segmentby = '{SEGMENT_BY}',
       timescaledb.compress_orderby = 'open_time')""",
    f"""SELECT add_compression_policy('data_candle', compress_after => {COMPRESS_AFTER_MS}::bigint,
       if_not_exists => true)""",
]


def timescaledb_state(connection: BaseDatabaseWrapper) -> TimescaleState:
    """What this database offers: extension installed, available to install, absent, or no PG."""
    if connection.vendor != "postgresql":
        return "not_postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        if cursor.fetchone():
            return "installed"
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        if cursor.fetchone():
            return "available"
    return "absent"


def candle_hypertable_enable(connection: BaseDatabaseWrapper) -> bool:
    """Make ``data_candle`` a compressed hypertable when TimescaleDB can be had; True if it is.

    ``settings.DSTA_TIMESCALEDB`` = ``"auto"`` (default) or ``"off"``. When the extension is only
    available, creating it is tried in a savepoint: it fails unless the server preloads the
    library, and then the table stays a plain PostgreSQL table.
    """
    if getattr(settings, "DSTA_TIMESCALEDB", "auto") == "off":
        return False
    state = timescaledb_state(connection)
    if state in ("absent", "not_postgresql"):
        return False
    if state == "available":
        try:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except DatabaseError as exc:
            logger.warning("timescaledb is available but cannot be enabled (%s); plain tables", exc)
            return False
    with connection.cursor() as cursor:
        for statement in HYPERTABLE_SQL:
            cursor.execute(statement)
    logger.info("data_candle is a TimescaleDB hypertable with compression")
    return True
