"""A test-only api that exercises every kind of value the wire must carry.

Like a domain's ``api.py``: a Protocol with keyword-only typed methods, frozen DTOs, errors;
no Django, and no ``from __future__ import annotations`` (the registry reads the hints).
"""

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from dsta.kernel import rpc
from dsta.kernel.errors import Conflict


class Side(enum.Enum):
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True)
class Fee:
    asset: str
    amount: Decimal


@dataclass(frozen=True)
class Fill:
    fill_id: UUID
    side: Side
    price: Decimal
    amount: Decimal
    filled_at: datetime
    fee: Fee
    tags: list[str] = field(default_factory=list)
    note: str | None = None


class Quote(BaseModel):
    model_config = ConfigDict(frozen=True)

    symbol: str
    bid: Decimal
    ask: Decimal
    quoted_at: datetime


class FillRejected(Conflict):
    """The sample's own domain error, to be re-raised by code on the caller's side."""

    code = "rpc_sample_fill_rejected"


@rpc.service("rpcsample.fills")
class FillsApi(Protocol):
    def echo_fill(self, *, fill: Fill) -> Fill:
        """The fill, unchanged."""
        ...

    def total_notional(self, *, fills: list[Fill], extra: dict[str, Decimal]) -> Decimal:
        """Sum of price * amount over the fills plus the extra amounts."""
        ...

    def find_fill(self, *, fill_id: UUID, fills: list[Fill]) -> Fill | None:
        """The fill with ``fill_id``, or None."""
        ...

    def quote(self, *, symbol: str, mid: Decimal, spread: Decimal = Decimal("0.50")) -> Quote:
        """A quote around ``mid`` (a pydantic DTO)."""
        ...

    def sides(self, *, side: Side | None = None) -> list[Side]:
        """Every side, or only ``side``."""
        ...

    def reject(self, *, reason: str) -> None:
        """Raise FillRejected with ``reason`` in its details."""
        ...

    def crash(self) -> None:
        """Fail with an unexpected (non-DSTA) exception."""
        ...

    def miscount(self) -> int:
        """The implementation breaks the contract: it returns a str."""
        ...

    def sleep(self, *, seconds: float, key: str) -> None:
        """Sleep, counting the calls made with ``key`` (see ``calls``)."""
        ...

    def calls(self, *, key: str) -> int:
        """How many times ``sleep`` was entered with ``key`` in this process."""
        ...

    def current_request_id(self) -> str:
        """The request id the serving process sees."""
        ...

    def count_users(self, *, username_prefix: str) -> int:
        """How many auth users have a username with the prefix (reads the database)."""
        ...
