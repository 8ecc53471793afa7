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

from functools import cache
from typing import Any, ClassVar, TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from rest_framework.permissions import BasePermission
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


class RolePermission(BasePermission):
    """Base of the classes :func:`HasRole` makes: passes for ``role`` or a higher one."""

    role: ClassVar[str] = "viewer"

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = principal_of(request)
        return principal is not None and principal.has_role(self.role)


class ScopePermission(BasePermission):
    """Base of the classes :func:`RequiresScope` makes: passes when every scope is carried."""

    scopes: ClassVar[tuple[str, ...]] = ()

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = principal_of(request)
        return principal is not None and all(principal.has_scope(s) for s in self.scopes)


@cache
def HasRole(role: str) -> type[RolePermission]:  # noqa: N802 (used like the class it makes)
    """The permission class "the principal acts with ``role`` or a higher one". Use it where
    DRF wants a class: ``permission_classes = [HasRole("trader")]``; ``&``/``|`` compose."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLE_RANK)}")
    return type(
        f"HasRole_{role}",
        (RolePermission,),
        {"role": role, "message": f"this action requires the {role} role", "__module__": __name__},
    )


@cache
def RequiresScope(*scopes: str) -> type[ScopePermission]:  # noqa: N802 (used like a class)
    """The permission class "the credential carries every scope named" (API keys carry the
    scopes they were created with; logins carry every scope of their roles)."""
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if not scopes or unknown:
        raise ValueError(f"scopes must be among {', '.join(SCOPES)}; got {scopes!r}")
    return type(
        f"RequiresScope_{'_'.join(scopes)}",
        (ScopePermission,),
        {
            "scopes": tuple(scopes),
            "message": f"this action requires the {', '.join(scopes)} scope",
            "__module__": __name__,
        },
    )


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
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFound(f"no such {owned.model._meta.verbose_name}") from exc


def permissions_summary(permissions: list[Any]) -> dict[str, Any]:
    """The minimum role and the scopes a list of permission *instances* (what a view's
    ``get_permissions()`` returns) demands, looking inside ``&`` compositions; used by the
    RBAC matrix test. ``role`` is None when no role is required."""
    roles: list[str] = []
    scopes: list[str] = []

    def visit(permission: Any) -> None:
        if isinstance(permission, RolePermission):
            roles.append(permission.role)
        elif isinstance(permission, ScopePermission):
            scopes.extend(permission.scopes)
        elif type(permission).__name__ == "AND":
            visit(permission.op1)
            visit(permission.op2)

    for permission in permissions:
        visit(permission)
    role = max(roles, key=ROLE_RANK.__getitem__) if roles else None
    return {"role": role, "scopes": sorted(set(scopes))}
