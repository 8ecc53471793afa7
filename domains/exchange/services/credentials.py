"""Credentials of live accounts: read from core's encrypted secrets, kept briefly in memory.

Plaintext is revealed only through ``SecretsApi.reveal`` (core checks that the exchange domain
is the caller and audits every read) and cached here for ``ttl`` seconds, in this process's
memory only, so a burst of calls does not reveal once per request and a rotated key is picked
up within ``ttl``. Anything that stops us getting usable credentials is ``AuthFailed``.
"""

import threading
import time
from collections.abc import Callable

from domains.exchange.adapters.ccxt_gateway import VenueCredentials
from domains.exchange.api import AuthFailed
from dsta.kernel.errors import DstaError
from dsta.kernel.rpc import RemoteUnavailable, ServiceNotRegistered

CALLER = "exchange"
DEFAULT_TTL = 60.0


def _reveal_through_core(owner_id: int, key: str) -> VenueCredentials:
    try:
        from domains.core.api import secrets_api
    except ImportError:  # a deployment without the core domain
        raise AuthFailed("credentials store not available", details={"secret_key": key}) from None
    try:
        secret = secrets_api().reveal(owner_id=owner_id, key=key, caller=CALLER)
    except (ServiceNotRegistered, RemoteUnavailable) as error:
        # No secrets service in this process, or the core service cannot be reached.
        raise AuthFailed(
            "credentials store not available", details={"secret_key": key, "reason": error.code}
        ) from None
    except DstaError as error:
        raise AuthFailed(
            f"credentials {key!r} cannot be read: {error.message}",
            details={"secret_key": key, "reason": error.code},
        ) from error
    if secret.kind != "exchange_credentials":
        raise AuthFailed(
            f"secret {key!r} is not exchange credentials",
            details={"secret_key": key, "reason": "wrong_kind"},
        )
    return VenueCredentials(
        api_key=secret.api_key, secret=secret.secret, password=secret.passphrase or None
    )


class CredentialStore:
    """``get(owner_id=..., key=...)``: a live account's credentials, cached ``ttl`` seconds."""

    def __init__(
        self,
        *,
        reveal: Callable[[int, str], VenueCredentials] = _reveal_through_core,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reveal = reveal
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[tuple[int, str], tuple[float, VenueCredentials]] = {}
        self._lock = threading.Lock()

    def get(self, *, owner_id: int, key: str) -> VenueCredentials:
        now = self.clock()
        with self._lock:
            cached = self._cache.get((owner_id, key))
            if cached is not None and now - cached[0] < self.ttl:
                return cached[1]
        credentials = self.reveal(owner_id, key)
        with self._lock:
            self._cache[(owner_id, key)] = (now, credentials)
        return credentials

    def forget(self, *, owner_id: int, key: str) -> None:
        """Drop a cached credential (after the venue refused it, or a rotation)."""
        with self._lock:
            self._cache.pop((owner_id, key), None)
