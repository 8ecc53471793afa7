"""The door of the trading domain: what other domains may ask of it.

A pure contract: no Django, no ORM, no I/O. Its type hints are the wire contract of the remote
binding, which is why it does not use ``from __future__ import annotations``.
"""

from typing import Protocol

from dsta.kernel import rpc


@rpc.service("trading.kill_switch")
class KillSwitchApi(Protocol):
    """The trading kill switch (config key ``trading.kill_switch``), as this process sees it."""

    def halted(self) -> bool:
        """Whether trading is halted in this process's environment. Fails closed: True while
        the configuration cannot be read. Cheap: answered from an in-process mirror kept
        current by ``ConfigChanged`` and re-read after a few seconds."""
        ...


def kill_switch_api() -> KillSwitchApi:
    """The kill switch of this process: in-process, or the remote client when the trading
    domain runs elsewhere (``DSTA_REMOTE_TRADING_URL``)."""
    return rpc.resolve(KillSwitchApi)
