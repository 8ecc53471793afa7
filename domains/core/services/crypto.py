"""Encryption at rest for secrets: MultiFernet over ``settings.DSTA_SECRETS_KEYS``.

The first key encrypts; every key decrypts, so adding a new key in front and running
``rotate_secrets`` moves every ciphertext to it while old ones keep reading meanwhile.
"""

from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from domains.core.api import SecretUndecryptable


def configured_keys() -> tuple[str, ...]:
    """The Fernet keys from settings, primary first (a comma-separated string is accepted)."""
    raw = settings.DSTA_SECRETS_KEYS
    keys: Sequence[str] = raw.split(",") if isinstance(raw, str) else raw
    cleaned = tuple(key.strip() for key in keys if key and key.strip())
    if not cleaned:
        raise ImproperlyConfigured("DSTA_SECRETS_KEYS is empty: secrets cannot be encrypted")
    return cleaned


@lru_cache(maxsize=8)
def _cipher_for(keys: tuple[str, ...]) -> MultiFernet:
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode()))
        except (ValueError, TypeError) as exc:
            # Name the position, never the key.
            raise ImproperlyConfigured(
                f"DSTA_SECRETS_KEYS key #{position} is not a Fernet key (32 url-safe "
                "base64-encoded bytes)"
            ) from exc
    return MultiFernet(fernets)


def cipher() -> MultiFernet:
    """The MultiFernet of the configured keys (cached per key list)."""
    return _cipher_for(configured_keys())


def encrypt(plaintext: bytes) -> str:
    """A Fernet token (ASCII) of ``plaintext`` under the primary key."""
    return cipher().encrypt(plaintext).decode("ascii")


def decrypt(token: str) -> bytes:
    """The plaintext of ``token``; SecretUndecryptable when no configured key opens it."""
    try:
        return cipher().decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise SecretUndecryptable(
            "a stored secret cannot be decrypted with the configured keys (was a key removed "
            "from DSTA_SECRETS_KEYS before rotate_secrets re-encrypted everything?)"
        ) from exc


def rotate(token: str) -> str:
    """``token`` re-encrypted under the primary key (MultiFernet.rotate keeps the timestamp)."""
    try:
        return cipher().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise SecretUndecryptable(
            "a stored secret cannot be decrypted with the configured keys, so it cannot be rotated"
        ) from exc


def primary_key_opens(token: str) -> bool:
    """Whether ``token`` is already encrypted under the primary key (rotation progress)."""
    try:
        Fernet(configured_keys()[0].encode()).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        return False
    return True
