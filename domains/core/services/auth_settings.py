"""The authentication settings, read from ``django.conf.settings`` on every use (so tests and
a changed environment apply at once), with the defaults ``dsta/settings.py`` documents."""

import hashlib
from typing import Any

from django.conf import settings


def _get(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def jwt_signing_key() -> bytes:
    """The HS256 key: DSTA_JWT_SIGNING_KEY, else one derived from SECRET_KEY (a separate
    purpose string, so a JWT key never equals a key Django signs cookies with)."""
    configured = str(_get("DSTA_JWT_SIGNING_KEY", ""))
    if configured:
        return configured.encode()
    return hashlib.sha256(b"dsta.jwt.v1:" + settings.SECRET_KEY.encode()).digest()


def jwt_issuer() -> str:
    return str(_get("DSTA_JWT_ISSUER", "dsta"))


def access_ttl_seconds() -> int:
    return int(_get("DSTA_JWT_ACCESS_TTL_SECONDS", 300))


def refresh_ttl_seconds() -> int:
    return int(_get("DSTA_JWT_REFRESH_TTL_SECONDS", 14 * 24 * 3600))


def login_max_failures() -> int:
    return int(_get("DSTA_LOGIN_MAX_FAILURES", 5))


def login_failure_window_seconds() -> int:
    return int(_get("DSTA_LOGIN_FAILURE_WINDOW_SECONDS", 900))


def login_lockout_seconds() -> int:
    return int(_get("DSTA_LOGIN_LOCKOUT_SECONDS", 300))


def api_key_last_used_interval_seconds() -> int:
    return int(_get("DSTA_API_KEY_LAST_USED_INTERVAL_SECONDS", 60))


def invite_ttl_seconds() -> int:
    return int(_get("DSTA_INVITE_TTL_SECONDS", 7 * 24 * 3600))


def oidc_issuer() -> str:
    return str(_get("DSTA_OIDC_ISSUER", "")).rstrip("/")


def oidc_client_id() -> str:
    return str(_get("DSTA_OIDC_CLIENT_ID", ""))


def oidc_client_secret() -> str:
    return str(_get("DSTA_OIDC_CLIENT_SECRET", ""))


def oidc_redirect_uri() -> str:
    return str(_get("DSTA_OIDC_REDIRECT_URI", ""))


def oidc_scopes() -> str:
    return str(_get("DSTA_OIDC_SCOPES", "openid email profile"))


def oidc_default_role() -> str:
    return str(_get("DSTA_OIDC_DEFAULT_ROLE", "viewer"))


def oidc_timeout_seconds() -> float:
    return float(_get("DSTA_OIDC_TIMEOUT_SECONDS", 10.0))
