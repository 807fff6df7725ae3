"""Roles: global Django groups plus per-project memberships. Admins are superusers (every role).

A user's roles *in a project* are their memberships of it, plus their global groups when the project
is not members-only (the default project and projects made before memberships existed). Superusers
hold every role everywhere. `roles_of` (no project) is the union over all projects: it opens an
endpoint; the objects behind it are then narrowed per project (`projects_where`, api.permissions).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet

from annotator.users import Viewer

ANNOTATOR = "annotator"
ML_STAFF = "ml_staff"
SUPERVISOR = "supervisor"
ADMIN = "admin"
ROLES = (ANNOTATOR, ML_STAFF, SUPERVISOR, ADMIN)


def ensure_groups() -> None:
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def roles_of(user: Viewer) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    if user.is_superuser:
        return set(ROLES)
    cached = getattr(user, "_spinelab_roles", None)
    if cached is None:
        cached = group_roles(user) | set().union(*memberships(user).values())
        setattr(user, "_spinelab_roles", cached)  # noqa: B010 (a per-request cache on the user)
    return cached


def group_roles(user: Viewer) -> set[str]:
    """The user's global role groups (they apply in projects that are not members-only)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_spinelab_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        setattr(user, "_spinelab_groups", cached)  # noqa: B010
    return cached


def memberships(user: Viewer) -> dict[int, set[str]]:
    """{project id: roles} from the user's ProjectMembership rows."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, "_spinelab_memberships", None)
    if cached is None:
        from annotator.models import ProjectMembership

        cached = {}
        for project_id, role in ProjectMembership.objects.filter(user_id=user.pk or 0).values_list(
            "project_id", "role"
        ):
            cached.setdefault(project_id, set()).add(role)
        setattr(user, "_spinelab_memberships", cached)  # noqa: B010
    return cached


def roles_in(user: Viewer, project: Any) -> set[str]:
    """The user's roles in one project (a Project or its id)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    if user.is_superuser:
        return set(ROLES)
    from annotator.models import Project

    project_id = project if isinstance(project, int) else project.pk
    members_only = (
        project.members_only
        if isinstance(project, Project)
        else Project.objects.filter(pk=project_id, members_only=True).exists()
    )
    found = set(memberships(user).get(project_id, set()))
    return found if members_only else found | group_roles(user)


def is_global_admin(user: Viewer) -> bool:
    """Superusers and members of the global admin group: they create projects and manage members."""
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_superuser or ADMIN in group_roles(user)
    )


def has_role_in(user: Viewer, project: Any, *names: str) -> bool:
    return bool(roles_in(user, project) & set(names))


def projects_where(user: Viewer, *names: str) -> QuerySet[Any]:
    """Projects in which the user holds any of `names` (any role at all when none are named)."""
    from annotator.models import Project

    if not getattr(user, "is_authenticated", False):
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    wanted = set(names) or set(ROLES)
    found = Q(memberships__user=user, memberships__role__in=sorted(wanted))
    if group_roles(user) & wanted:
        found |= Q(members_only=False)
    return Project.objects.filter(pk__in=Project.objects.filter(found).values("pk"))


def has_role(user: Viewer, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


EVERYTHING = (SUPERVISOR, ML_STAFF, ADMIN)


def sees_all_projects(user: Viewer) -> bool:
    """True when the user sees every case of every project (superusers; global staff while no
    project is members-only): the cheap path of the visibility queries."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    from annotator.models import Project

    if not group_roles(user) & set(EVERYTHING):
        return False
    return not Project.objects.filter(members_only=True).exists()
