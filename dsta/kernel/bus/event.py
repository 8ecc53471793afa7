"""The base class of every domain event.

Django-free on purpose: domains' ``events.py`` modules import it, and those modules are
contracts that other domains (and other processes) import without a configured Django.
"""

import re
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from dsta.kernel.bus import registry

# dsta.<domain>.<subject>.<action>.v<major>, e.g. dsta.trading.order.filled.v1
EVENT_NAME = re.compile(
    r"^dsta\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.v([1-9][0-9]*)$"
)
_RESERVED = ("name", "minor", "durable")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """A past-tense fact a domain announces: frozen, versioned, serialisable to JSON.

    A concrete event sets ``name`` in its own class body; a class that does not is an
    abstract base (not in the catalogue, cannot be published). Additive payload changes bump
    ``minor`` (new fields need defaults, old readers ignore unknown fields); a breaking change
    is a new class with the next major in its name, published beside the old one.
    ``durable = False`` marks high-rate transient events (ticks) that skip the outbox.
    """

    # Unknown fields are ignored so a reader on an older minor accepts newer payloads.
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: ClassVar[str]
    minor: ClassVar[int] = 0
    durable: ClassVar[bool] = True

    id: UUID = Field(default_factory=uuid4, description="Unique id of this occurrence.")
    occurred_at: datetime = Field(
        default_factory=_utc_now, description="When the fact happened (UTC)."
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for reserved in _RESERVED:
            if reserved in cls.model_fields:
                raise TypeError(f"{cls.__qualname__}: '{reserved}' is reserved for event metadata")
        if "name" not in cls.__dict__:
            return  # an abstract base shared by several events
        if not isinstance(cls.name, str) or not EVENT_NAME.match(cls.name):
            raise TypeError(
                f"{cls.__qualname__}.name={cls.name!r} must look like "
                "'dsta.<domain>.<subject>.<action>.v<major>' (lowercase, major >= 1)"
            )
        if not isinstance(cls.minor, int) or isinstance(cls.minor, bool) or cls.minor < 0:
            raise TypeError(f"{cls.__qualname__}.minor must be an int >= 0")
        if not isinstance(cls.durable, bool):
            raise TypeError(f"{cls.__qualname__}.durable must be a bool")
        registry.register_event_type(cls)

    @classmethod
    def is_concrete(cls) -> bool:
        """Whether this class names an event (and so can be published and subscribed to)."""
        return "name" in cls.__dict__

    @classmethod
    def major(cls) -> int:
        """The major version, read from the name's ``.v<major>`` suffix."""
        match = EVENT_NAME.match(cls.name)
        if match is None:  # only abstract bases get here
            raise TypeError(f"{cls.__qualname__} is an abstract event base")
        return int(match.group(1))
