"""Django authentication backend of the composition root (``AUTHENTICATION_BACKENDS``)."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from domains.core.services.clients import client_ip
from domains.core.services.lockout import lockout_remaining


class LockoutModelBackend(ModelBackend):
    """Django's username/password backend, refusing a username+address pair that is cooling
    off after repeated failures (PermissionDenied stops ``authenticate`` without checking the
    password). The same lockout guards the admin login and ``POST /api/v1/auth/login``."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is not None and lockout_remaining(str(username), client_ip(request)):
            raise PermissionDenied("login locked out; try again later")
        return super().authenticate(request, username=username, password=password, **kwargs)
