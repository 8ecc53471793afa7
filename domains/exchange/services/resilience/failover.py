"""Alternate API hosts of a venue: after a network error or a 5xx, use the next one.

Binance serves its spot API from ``api.binance.com`` and, with the same paths and keys, from
``api1``-``api4.binance.com`` and ``api-gcp.binance.com`` (its "General API Information" page:
the numbered hosts may perform better but be less stable). HTX answers on ``api.huobi.pro``
and ``api-aws.huobi.pro`` (for clients hosted on AWS). Gate.io has one spot host.

ccxt keeps building URLs on the primary host; :meth:`HostRotation.route` rewrites the host of
each request to the active one. The choice is per process and sticky: we stay on a host until
it fails.
"""

import threading
from urllib.parse import urlsplit, urlunsplit


class HostRotation:
    def __init__(self, hosts: tuple[str, ...]) -> None:
        self.hosts = tuple(dict.fromkeys(h.strip().lower() for h in hosts if h.strip()))
        self._index = 0
        self._lock = threading.Lock()

    @property
    def active(self) -> str | None:
        return self.hosts[self._index] if self.hosts else None

    def route(self, url: str) -> str:
        """``url`` on the active host when its host is one of the venue's (else unchanged)."""
        active = self.active
        if active is None:
            return url
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host == active or host not in self.hosts:
            return url
        netloc = active if parts.port is None else f"{active}:{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def failed(self, url: str) -> str | None:
        """A request to ``url`` failed at the network or 5xx level: move on from its host if
        it is still the active one. Returns the new active host when it changed."""
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            if len(self.hosts) < 2 or host != self.hosts[self._index]:
                return None  # another thread moved on already, or nowhere to go
            self._index = (self._index + 1) % len(self.hosts)
            return self.hosts[self._index]
