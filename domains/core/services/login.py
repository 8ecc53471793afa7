"""Password sign-in and sign-out, with the lockout and the audit trail.

Failed attempts are counted (and audited) by the ``user_login_failed`` signal handler, so the
API login and the admin login share one lockout; Django's ``authenticate`` goes through
``LockoutModelBackend``, which refuses a locked-out pair without checking the password.
"""

from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login

from domains.core.api import AuditAction, InvalidCredentials, LoginLocked
from domains.core.models import AuthSession
from domains.core.services.audit import audit_record
from domains.core.services.clients import client_ip, client_user_agent
from domains.core.services.lockout import clear_login_failures, lockout_remaining
from domains.core.services.tokens import IssuedTokens, session_revoke, session_start
from dsta.kernel.principal import Principal

# Set on a request whose login the API already audited, so the user_logged_in handler (which
# a Django session login triggers) does not audit it twice.
LOGIN_AUDITED_ATTRIBUTE = "_dsta_login_audited"


def _locked(username: str, ip: str) -> LoginLocked | None:
    remaining = lockout_remaining(username, ip)
    if not remaining:
        return None
    return LoginLocked(
        f"too many failed logins; try again in {remaining} seconds",
        details={"retry_after": remaining},
    )


def password_login(*, request: Any, username: str, password: str) -> tuple[Any, IssuedTokens]:
    """Check the password and open a token session. Raises LoginLocked (429) while the
    username+address pair is cooling off, InvalidCredentials (401) otherwise."""
    ip = client_ip(request)
    locked = _locked(username, ip)
    if locked is not None:
        raise locked
    user = authenticate(request, username=username, password=password)
    if user is None:
        # This failure may be the one that started the cool-off: say so at once.
        raise _locked(username, ip) or InvalidCredentials("wrong username or password")
    clear_login_failures(username, ip)
    update_last_login(type(user), user)
    tokens = session_start(
        user=user,
        method=AuthSession.Method.PASSWORD,
        ip=ip,
        user_agent=client_user_agent(request),
    )
    audit_record(
        action=AuditAction.LOGIN,
        user_id=user.pk,
        username=user.get_username(),
        target=f"session:{tokens.session_id}",
        details={"method": "password"},
        ip=ip,
    )
    return user, tokens


def logout(*, principal: Principal, ip: str = "") -> bool:
    """End the principal's token session (its access and refresh tokens stop working);
    False when the principal has no token session (an API key, a Django session)."""
    if principal.via != "jwt" or principal.credential_id is None:
        return False
    revoked = session_revoke(
        session_id=principal.credential_id, user_id=principal.user_id, reason="logout"
    )
    if revoked:
        audit_record(
            action=AuditAction.LOGOUT,
            user_id=principal.user_id,
            username=principal.username,
            target=f"session:{principal.credential_id}",
            ip=ip,
        )
    return revoked


def session_revoke_own(*, principal: Principal, session_id: str, ip: str = "") -> bool:
    """Revoke one of the principal's own sessions (audited); False when it is not an open
    session of theirs."""
    revoked = session_revoke(session_id=session_id, user_id=principal.user_id, reason="revoked")
    if revoked:
        audit_record(
            action=AuditAction.SESSION_REVOKED,
            user_id=principal.user_id,
            username=principal.username,
            target=f"session:{session_id}",
            ip=ip,
        )
    return revoked
