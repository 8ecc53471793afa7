"""The wire form of an event: what the outbox stores and the transports carry."""

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dsta.kernel.bus import registry
from dsta.kernel.bus.event import Event


class UnknownEventTypeError(LookupError):
    """A message names an event class this process has not imported."""


@dataclass(frozen=True)
class Envelope:
    """An event reduced to JSON-ready parts; ``payload`` is the event's JSON dump."""

    event_id: UUID
    name: str
    minor: int
    payload: dict[str, Any]

    @classmethod
    def from_event(cls, event: Event) -> "Envelope":
        return cls(
            event_id=event.id,
            name=event.name,
            minor=event.minor,
            payload=event.model_dump(mode="json"),
        )

    def decode(self) -> Event:
        """The event instance, validated by this process's class for ``name``."""
        event_type = registry.event_type(self.name)
        if event_type is None:
            raise UnknownEventTypeError(f"no event class is registered for {self.name!r}")
        return event_type.model_validate(self.payload)

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": str(self.event_id),
                "name": self.name,
                "minor": self.minor,
                "payload": self.payload,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> "Envelope":
        data = json.loads(raw)
        return cls(
            event_id=UUID(data["id"]),
            name=str(data["name"]),
            minor=int(data["minor"]),
            payload=dict(data["payload"]),
        )
