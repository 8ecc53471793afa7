"""The implementation of the sample api, registered at import.

A child process serving the sample imports this module through ``DSTA_RPC_EXTRA_MODULES``;
the test process imports it from the tests' conftest.
"""

import threading
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from django.contrib.auth import get_user_model

from dsta.kernel import rpc
from dsta.kernel.observability.context import request_id_var
from dsta.kernel.rpc.tests.sample_api import Fill, FillRejected, FillsApi, Quote, Side


class FillsService:
    def __init__(self) -> None:
        self._calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def echo_fill(self, *, fill: Fill) -> Fill:
        return fill

    def total_notional(self, *, fills: list[Fill], extra: dict[str, Decimal]) -> Decimal:
        return sum((f.price * f.amount for f in fills), Decimal(0)) + sum(
            extra.values(), Decimal(0)
        )

    def find_fill(self, *, fill_id: UUID, fills: list[Fill]) -> Fill | None:
        return next((f for f in fills if f.fill_id == fill_id), None)

    def quote(self, *, symbol: str, mid: Decimal, spread: Decimal = Decimal("0.50")) -> Quote:
        half = spread / 2
        return Quote(
            symbol=symbol,
            bid=mid - half,
            ask=mid + half,
            quoted_at=datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        )

    def sides(self, *, side: Side | None = None) -> list[Side]:
        return [side] if side is not None else list(Side)

    def reject(self, *, reason: str) -> None:
        raise FillRejected("fill rejected", details={"reason": reason})

    def crash(self) -> None:
        raise RuntimeError("the sample crashed on purpose")

    def miscount(self) -> int:
        return "three"  # type: ignore[return-value]

    def sleep(self, *, seconds: float, key: str) -> None:
        with self._lock:
            self._calls[key] += 1
        time.sleep(seconds)

    def calls(self, *, key: str) -> int:
        with self._lock:
            return self._calls[key]

    def current_request_id(self) -> str:
        return request_id_var.get()

    def count_users(self, *, username_prefix: str) -> int:
        return get_user_model().objects.filter(username__startswith=username_prefix).count()

    def not_in_the_protocol(self) -> str:
        """Public on the implementation but not declared: must never be callable remotely."""
        return "leaked"


rpc.register(FillsApi, FillsService())
