"""The permission checks every endpoint uses: roles and scopes of the authenticated principal.

Authentication (who is calling) is core's job: its DRF authentication classes, wired in by the
composition root's settings, put a :class:`~dsta.kernel.principal.Principal` on
``request.auth``. Everything here only reads that principal, so no domain imports core::

    class OrderListView(APIView):
        permission_classes = [HasRole("trader"), RequiresScope("trade")]

        def get_queryset(self):
            return owned_by_request_user(Order.objects.all(), self.request)

``HasRole(role)`` passes for that role or a higher one (viewer < analyst < trader < admin),
capped by the credential's scopes. ``AnyRole`` (``HasRole("viewer")``) is the default
permission of every DRF view (``REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]``).
"""

from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from rest_framework.permissions import BasePermission, OperationHolderMixin
from rest_framework.request import Request

from dsta.kernel.errors import NotFound
from dsta.kernel.principal import ROLE_RANK, SCOPES, Principal, Via, known_roles, scopes_for_roles

M = TypeVar("M", bound=Model)
_CACHE_ATTRIBUTE = "_dsta_principal"


def principal_from_user(user: Any, *, via: Via = "session") -> Principal:
    """The principal of a Django user signed in without a token (session, test clients):
    the roles of its groups (a superuser is also an admin) and every scope of those roles."""
    roles = list(user.groups.values_list("name", flat=True))
    if user.is_superuser:
        roles.append("admin")
    held = known_roles(roles)
    return Principal(
        user_id=int(user.pk),
        username=user.get_username(),
        roles=held,
        scopes=scopes_for_roles(held),
        via=via,
    )


def principal_of(request: Request | HttpRequest) -> Principal | None:
    """The principal of ``request``, or None when nobody authenticated.

    A token or API-key request carries it on ``request.auth``; for any other signed-in user it
    is built from the user's groups once per request.
    """
    auth = getattr(request, "auth", None)
    if isinstance(auth, Principal):
        return auth
    cached = getattr(request, _CACHE_ATTRIBUTE, None)
    if isinstance(cached, Principal):
        return cached
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    principal = getattr(user, "principal", None)
    if not isinstance(principal, Principal):
        principal = principal_from_user(user)
    setattr(request, _CACHE_ATTRIBUTE, principal)
    return principal


class _InstancePermission(OperationHolderMixin, BasePermission):
    """A permission configured by arguments. DRF instantiates ``permission_classes`` entries by
    calling them, so an instance returns itself; ``&``, ``|`` and ``~`` compose as usual."""

    def __call__(self) -> "_InstancePermission":
        return self


class HasRole(_InstancePermission):
    """Passes when the principal acts with ``role`` or a higher one."""

    def __init__(self, role: str) -> None:
        if role not in ROLE_RANK:
            raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLE_RANK)}")
        self.role = role
        self.message = f"this action requires the {role} role"

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = principal_of(request)
        return principal is not None and principal.has_role(self.role)

    def __repr__(self) -> str:
        return f"HasRole({self.role!r})"


class RequiresScope(_InstancePermission):
    """Passes when the principal's credential carries every scope named."""

    def __init__(self, *scopes: str) -> None:
        unknown = [scope for scope in scopes if scope not in SCOPES]
        if not scopes or unknown:
            raise ValueError(f"scopes must be among {', '.join(SCOPES)}; got {scopes!r}")
        self.scopes = scopes
        self.message = f"this action requires the {', '.join(scopes)} scope"

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = principal_of(request)
        return principal is not None and all(principal.has_scope(s) for s in self.scopes)

    def __repr__(self) -> str:
        return f"RequiresScope({', '.join(map(repr, self.scopes))})"


# The default permission of every DRF view: a signed-in user with any role.
AnyRole = HasRole("viewer")
IsAnalyst = HasRole("analyst")
IsTrader = HasRole("trader")
IsAdmin = HasRole("admin")


def owned_by_request_user(
    queryset: "QuerySet[M]",
    request: Request | HttpRequest,
    *,
    owner_field: str = "owner_id",
    admin_sees_all: bool = True,
) -> "QuerySet[M]":
    """``queryset`` narrowed to the caller's own rows (all rows for an admin, unless
    ``admin_sees_all`` is False); empty for an anonymous request. Look objects up in the
    result, so another user's object answers 404, exactly like one that does not exist."""
    principal = principal_of(request)
    if principal is None:
        return queryset.none()
    if admin_sees_all and principal.is_admin:
        return queryset
    return queryset.filter(**{owner_field: principal.user_id})


def get_owned_or_404(
    queryset: "QuerySet[M]",
    request: Request | HttpRequest,
    *,
    owner_field: str = "owner_id",
    admin_sees_all: bool = True,
    **lookup: Any,
) -> M:
    """The one object matching ``lookup`` among the caller's own (see
    :func:`owned_by_request_user`); raises the kernel's ``NotFound`` (404) otherwise,
    including for a malformed lookup value."""
    owned = owned_by_request_user(
        queryset, request, owner_field=owner_field, admin_sees_all=admin_sees_all
    )
    try:
        return owned.get(**lookup)
    # A malformed id (not a UUID, not a number) is a 404 too: nothing by that name exists.
    except (owned.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFound(f"no such {owned.model._meta.verbose_name}") from exc


def permissions_summary(permissions: list[Any]) -> dict[str, Any]:
    """The minimum role and the scopes a list of permission objects demands (``HasRole`` /
    ``RequiresScope`` found directly or inside ``&`` compositions); used by the RBAC matrix
    test and by docs. ``role`` is None when no role is required."""
    roles: list[str] = []
    scopes: list[str] = []

    def visit(permission: Any) -> None:
        if isinstance(permission, HasRole):
            roles.append(permission.role)
        elif isinstance(permission, RequiresScope):
            scopes.extend(permission.scopes)
        elif type(permission).__name__ == "AND":
            visit(permission.op1)
            visit(permission.op2)

    for permission in permissions:
        visit(permission)
    role = max(roles, key=ROLE_RANK.__getitem__) if roles else None
    return {"role": role, "scopes": sorted(set(scopes))}
