"""Events the core domain publishes. Pure contracts: pydantic payloads, no Django.

No ``from __future__ import annotations``: the bus reads these annotations at runtime.
"""

from typing import Any, ClassVar, Literal

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


class NotificationRequested(Event):
    """Any domain asks core to notify a user (a fill, a risk violation, a finished job...).

    Give ``body`` (and ``subject``) as text, or the name of a notification ``template`` and
    its ``variables``. ``channels`` None follows the user's preferences. Core delivers it like
    ``POST /api/v1/notifications/send``; without a ``dedupe_key`` the event id is used, so a
    redelivered event never notifies twice. A request core cannot honour (unknown user,
    template or channel, missing variables) is logged and dropped: retrying cannot fix it.
    """

    name: ClassVar[str] = "dsta.core.notification.requested.v1"
    minor: ClassVar[int] = 0

    user_id: int = Field(description="The user to notify.")
    source: str = Field(description="The publishing domain: 'trading', 'exchange', 'data'...")
    priority: Literal["low", "normal", "high", "critical"] = Field(
        default="normal", description="critical also goes out during the user's quiet hours."
    )
    subject: str = Field(default="", max_length=300, description="One line.")
    body: str = Field(default="", max_length=20_000, description="The text (not a template).")
    template: str | None = Field(default=None, description="A notification template's name.")
    variables: dict[str, Any] = Field(
        default_factory=dict, description="The template's variables (JSON values)."
    )
    channels: list[str] | None = Field(
        default=None, description="in_app, email, telegram, webhook; None: the preferences."
    )
    dedupe_key: str | None = Field(
        default=None,
        max_length=200,
        description="Same user + key within the dedupe window: one notification.",
    )
    data: dict[str, Any] = Field(
        default_factory=dict, description="Extra JSON for in-app and webhook receivers."
    )
