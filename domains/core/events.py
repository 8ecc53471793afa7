"""Events the core domain publishes. Pure contracts: pydantic payloads, no Django.

No ``from __future__ import annotations``: the bus reads these annotations at runtime.
"""

from typing import Any, ClassVar

from pydantic import Field

from dsta.kernel.bus import Event


class ConfigChanged(Event):
    """A new version of a configuration key was written in one environment.

    Published in the transaction of the write, so it is delivered only once the write is
    committed. ``value`` is the value written for ``environment`` exactly; readers of another
    environment that falls back to "default" should re-read the effective value when
    ``environment`` is "default".
    """

    name: ClassVar[str] = "dsta.core.config.changed.v1"
    minor: ClassVar[int] = 0

    key: str = Field(description="The configuration key, e.g. 'trading.kill_switch'.")
    environment: str = Field(description="The environment written: 'default', 'paper', ...")
    version: int = Field(ge=1, description="The new version of the key in that environment.")
    value: Any = Field(description="The value written (JSON), valid against the key's schema.")
    changed_by: int | None = Field(description="The id of the user who wrote it, if any.")
