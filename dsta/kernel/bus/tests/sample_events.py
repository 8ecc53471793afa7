"""Event classes the bus tests publish (names under dsta.bustest.* to stay out of the way)."""

from typing import ClassVar

from dsta.kernel.bus import Event


class OrderFilled(Event):
    """A test fill."""

    name: ClassVar[str] = "dsta.bustest.order.filled.v1"
    minor: ClassVar[int] = 2

    order_id: str
    quantity: float = 1.0


class TickReceived(Event):
    """A transient test tick."""

    name: ClassVar[str] = "dsta.bustest.tick.received.v1"
    durable: ClassVar[bool] = False

    price: float


class PositionOpened(Event):
    """Published by a handler of OrderFilled, to test chains."""

    name: ClassVar[str] = "dsta.bustest.position.opened.v1"

    order_id: str
