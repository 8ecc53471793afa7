"""Roles as Django groups: ``viewer``, ``analyst``, ``trader``, ``admin`` (ranked in that
order; see ``dsta.kernel.principal``). A user holds one role; a new user starts as a viewer.

The groups are created by the data migration and re-ensured after every ``migrate`` (and every
test flush) by a post_migrate hook, which also grants each group its Django permissions: the
admin group every permission (the admin site), the others read-only views of configuration.
"""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from dsta.kernel.principal import ROLE_RANK, ROLES, known_roles

# Django permissions (for the admin site) per role; "*" is every permission there is.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "viewer": ("core.view_configkey", "core.view_configvalue"),
    "analyst": ("core.view_configkey", "core.view_configvalue"),
    "trader": ("core.view_configkey", "core.view_configvalue"),
    "admin": ("*",),
}
DEFAULT_ROLE = "viewer"


def _permissions(names: tuple[str, ...]) -> list[Permission]:
    if names == ("*",):
        return list(Permission.objects.all())
    wanted = {tuple(name.split(".", 1)) for name in names}
    return [
        permission
        for permission in Permission.objects.select_related("content_type")
        if (permission.content_type.app_label, permission.codename) in wanted
    ]


def ensure_roles() -> None:
    """Create the role groups and grant their permissions (idempotent)."""
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*_permissions(ROLE_PERMISSIONS[role]))


def check_role(role: str) -> str:
    """``role`` if it is one of the roles, else ValueError naming them."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role


def user_roles(user: Any) -> tuple[str, ...]:
    """The roles ``user`` holds (a superuser also holds admin)."""
    names = list(user.groups.values_list("name", flat=True))
    if user.is_superuser:
        names.append("admin")
    return known_roles(names)


def highest_role(roles: tuple[str, ...]) -> str | None:
    """The highest of ``roles`` (None for none)."""
    return max(roles, key=ROLE_RANK.__getitem__) if roles else None


@transaction.atomic
def user_set_role(*, user: Any, role: str) -> None:
    """Make ``role`` the user's only role. Admins also get ``is_staff`` (the admin site);
    anyone else loses it."""
    check_role(role)
    groups = {group.name: group for group in Group.objects.filter(name__in=ROLES)}
    missing = [name for name in ROLES if name not in groups]
    if missing:
        ensure_roles()
        groups = {group.name: group for group in Group.objects.filter(name__in=ROLES)}
    user.groups.remove(*[groups[name] for name in ROLES if name != role])
    user.groups.add(groups[role])
    staff = role == "admin"
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])


def give_default_role(user: Any) -> None:
    """A user without any role becomes a viewer (called when a user is created)."""
    if not user_roles(user):
        group, _ = Group.objects.get_or_create(name=DEFAULT_ROLE)
        user.groups.add(group)
