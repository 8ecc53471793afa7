"""``AuthService``: the in-process ``AuthApi``: an Authorization header value to a Principal."""

from domains.core.api import AuthApi, TokenInvalid
from domains.core.services.api_keys import api_key_authenticate
from domains.core.services.tokens import access_token_validate
from dsta.kernel.principal import Principal

BEARER = "bearer"
API_KEY = "api-key"


def split_authorization(authorization: str) -> tuple[str, str]:
    """``("bearer" | "api-key" | other scheme lower-cased, credential)``."""
    scheme, _, credential = authorization.strip().partition(" ")
    return scheme.lower(), credential.strip()


def principal_for_authorization(authorization: str) -> Principal:
    """Validate ``Bearer <access token>`` or ``Api-Key <key>``; raises an Unauthenticated
    subclass saying why it was refused."""
    scheme, credential = split_authorization(authorization)
    if scheme == BEARER and credential:
        return access_token_validate(credential)
    if scheme == API_KEY and credential:
        return api_key_authenticate(credential)
    raise TokenInvalid("the Authorization header must be 'Bearer <token>' or 'Api-Key <key>'")


class AuthService(AuthApi):
    """See AuthApi."""

    def validate(self, *, authorization: str) -> Principal:
        """See AuthApi.validate."""
        return principal_for_authorization(authorization)
