"""Roles are Django groups with permissions; new users start as viewers; one role at a time."""

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission

from domains.core.services.roles import ensure_roles, user_roles, user_set_role
from dsta.kernel.principal import ROLES


def _check_groups() -> None:
    groups = {group.name: group for group in Group.objects.filter(name__in=ROLES)}
    assert set(groups) == set(ROLES)
    assert groups["admin"].permissions.count() == Permission.objects.count()
    viewer = {p.codename for p in groups["viewer"].permissions.all()}
    assert viewer == {"view_configkey", "view_configvalue"}


@pytest.mark.django_db
def test_the_role_groups_exist_with_their_permissions() -> None:
    _check_groups()


@pytest.mark.django_db(transaction=True)
def test_the_groups_survive_a_flush() -> None:
    # Transactional tests flush every table; the post_migrate hook puts the roles back.
    _check_groups()


@pytest.mark.django_db
def test_ensure_roles_is_idempotent() -> None:
    ensure_roles()
    ensure_roles()
    _check_groups()


@pytest.mark.django_db
def test_a_new_user_is_a_viewer_and_holds_one_role(django_user_model: Any) -> None:
    person = django_user_model.objects.create_user(username="newbie")
    assert user_roles(person) == ("viewer",)
    user_set_role(user=person, role="admin")
    assert (user_roles(person), person.is_staff) == (("admin",), True)
    user_set_role(user=person, role="analyst")
    person.refresh_from_db()
    assert (user_roles(person), person.is_staff) == (("analyst",), False)
    boss = django_user_model.objects.create_superuser(username="boss", password=None)
    assert user_roles(boss) == ("admin",)
    with pytest.raises(ValueError, match="unknown role"):
        user_set_role(user=person, role="pope")
