"""Turn data_candle into a TimescaleDB hypertable when the server has the extension.

On SQLite and on plain PostgreSQL this does nothing (see domains/data/services/timescale.py).
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def enable(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from domains.data.services.timescale import candle_hypertable_enable

    candle_hypertable_enable(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("data", "0001_initial")]

    operations = [migrations.RunPython(enable, migrations.RunPython.noop, elidable=False)]
