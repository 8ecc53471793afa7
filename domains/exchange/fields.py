"""``ExactDecimalField``: a decimal column that is exact on PostgreSQL *and* SQLite.

PostgreSQL's ``numeric`` is exact. SQLite has no decimal type: its NUMERIC affinity stores
``'9948.9439495000001'`` as a double, and Django reads it back rounded to 15 significant digits,
so a balance of 10 000 USDT with fees to 1e-13 would drift. On SQLite this field stores the
fixed-point decimal string in a TEXT column instead (a fixed-point string of a non-negative
number also keeps ``>= 0`` check constraints meaningful there: ``'-…' < '0' <= '1…'``).
Do not order or aggregate these columns in SQL on SQLite; do it in Python.
"""

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


class ExactDecimalField(models.DecimalField):
    """``DecimalField(max_digits=38, decimal_places=18)`` unless told, exact on every database."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 38)
        kwargs.setdefault("decimal_places", 18)
        super().__init__(*args, **kwargs)

    def get_internal_type(self) -> str:
        # Not "DecimalField": that would make the SQLite backend read values through a float.
        return "TextField"

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "sqlite":
            return "text"
        return f"numeric({self.max_digits}, {self.decimal_places})"

    def rel_db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        return self.db_type(connection)

    def get_db_prep_value(
        self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> Any:
        value = self.to_python(value)
        if value is None:
            return None
        if not isinstance(value, Decimal):  # an expression or a lookup's already-prepared value
            return value
        step = Decimal(1).scaleb(-int(self.decimal_places or 0))
        value = value.quantize(step)
        if value == 0:
            value = abs(value)  # never store "-0.000…"
        return format(value, "f") if connection.vendor == "sqlite" else value

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        if value is None:
            return None
        return plain(value if isinstance(value, Decimal) else Decimal(str(value)))


def plain(value: Decimal) -> Decimal:
    """``value`` without the column's padding zeros, never in exponent form:
    ``1000.000…`` -> ``1000``, ``0.1000…`` -> ``0.1``."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()
