"""Roles are Django groups. Admins are superusers (they have every role)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

ANNOTATOR = "annotator"
ML_STAFF = "ml_staff"
SUPERVISOR = "supervisor"
ADMIN = "admin"
ROLES = (ANNOTATOR, ML_STAFF, SUPERVISOR, ADMIN)


def ensure_groups() -> None:
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def roles_of(user: Any) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    if user.is_superuser:
        return set(ROLES)
    cached = getattr(user, "_spinelab_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._spinelab_roles = cached
    return cached


def has_role(user: Any, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def is_supervisor(user: Any) -> bool:
    return has_role(user, SUPERVISOR, ADMIN)


def is_ml_staff(user: Any) -> bool:
    return has_role(user, ML_STAFF, ADMIN)


def sees_everything(user: Any) -> bool:
    """Supervisors, ML staff and admins see all cases; annotators only what is assigned to them."""
    return has_role(user, SUPERVISOR, ML_STAFF, ADMIN)
