"""Who is calling: the ``Principal`` DTO, the roles and scopes it may carry.

Pure contract (no Django): a domain's ``api.py`` may return a ``Principal`` across the rpc
wire, and every permission check (``dsta.kernel.permissions``) reads one.

Roles are ranked: ``viewer < analyst < trader < admin``; a role includes every lower one
(a trader may do what an analyst may). Scopes cap what a credential may do with its roles:
``read`` reaches up to analyst (reading and analysis: backtests, reports), ``trade`` up to
trader, ``admin`` up to admin. A password/OIDC login carries every scope of its roles; an
API key carries the scopes it was created with, so an admin's ``read`` key acts as an analyst.
"""

from dataclasses import dataclass
from typing import Literal

ROLES: tuple[str, ...] = ("viewer", "analyst", "trader", "admin")  # ascending
SCOPES: tuple[str, ...] = ("read", "trade", "admin")
ROLE_RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES, start=1)}
# The highest role rank a scope lets a credential act with.
SCOPE_REACH: dict[str, int] = {
    "read": ROLE_RANK["analyst"],
    "trade": ROLE_RANK["trader"],
    "admin": ROLE_RANK["admin"],
}
# The scopes a role carries when it signs in with a password, OIDC or a session.
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "viewer": ("read",),
    "analyst": ("read",),
    "trader": ("read", "trade"),
    "admin": ("read", "trade", "admin"),
}

Via = Literal["jwt", "api_key", "session"]


def scopes_for_roles(roles: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Every scope the given roles carry, in ``SCOPES`` order."""
    granted = {scope for role in roles for scope in ROLE_SCOPES.get(role, ())}
    return tuple(scope for scope in SCOPES if scope in granted)


def known_roles(names: object) -> tuple[str, ...]:
    """The role names among ``names`` (e.g. a user's group names), in ``ROLES`` order."""
    held = set(names) if isinstance(names, list | tuple | set | frozenset) else set()
    return tuple(role for role in ROLES if role in held)


@dataclass(frozen=True, kw_only=True)
class Principal:
    """The authenticated caller of a request.

    ``roles`` are the roles the user holds (Django groups); ``scopes`` are what this
    credential may do. ``via`` says how it authenticated; ``credential_id`` names the
    credential: the login session of a JWT, the id of an API key, None for a Django session.
    """

    user_id: int
    username: str = ""
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    via: Via = "session"
    credential_id: str | None = None

    def rank(self) -> int:
        """The effective role's rank (0: none): the highest role held, capped by the scopes."""
        held = max((ROLE_RANK.get(role, 0) for role in self.roles), default=0)
        reach = max((SCOPE_REACH.get(scope, 0) for scope in self.scopes), default=0)
        return min(held, reach)

    @property
    def role(self) -> str | None:
        """The role this credential acts with: its highest role, capped by its scopes."""
        rank = self.rank()
        return ROLES[rank - 1] if rank > 0 else None

    def has_role(self, role: str) -> bool:
        """True when the effective role is ``role`` or a higher one."""
        return self.rank() >= ROLE_RANK[role]

    def has_scope(self, scope: str) -> bool:
        """True when this credential carries ``scope``."""
        return scope in self.scopes

    @property
    def is_admin(self) -> bool:
        return self.has_role("admin")


class PrincipalUser:
    """What ``request.user`` is for a token or API-key request: the principal's user id and
    name, without loading the user row (a domain never reads core's user table anyway)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_superuser = False

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.pk = self.id = principal.user_id
        self.username = principal.username

    @property
    def is_staff(self) -> bool:
        """Admins see everyone's objects where a view scopes by ``is_staff``."""
        return self.principal.is_admin

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username or f"user {self.pk}"

    def __eq__(self, other: object) -> bool:
        return getattr(other, "pk", None) == self.pk and getattr(other, "is_authenticated", False)

    def __hash__(self) -> int:
        return hash(self.pk)
