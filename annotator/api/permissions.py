"""DRF permission classes. The access rules themselves live in annotator.services.access; the names
re-exported below keep older imports working while callers move to `access`."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from annotator.services import roles
from annotator.services.access import (  # noqa: F401  (re-exported for callers not yet moved)
    blind_annotation,
    can_manage_job,
    get_slice_for_write,
    get_visible_project,
    get_visible_slice,
    require_role_in,
    visible_jobs,
    visible_projects,
    visible_revisions,
    visible_series,
    visible_slices,
    visible_subjects,
)
from annotator.services.access import staff_projects as full_view_projects  # noqa: F401


class HasRole(BasePermission):
    """`HasRole.of(roles.SUPERVISOR, roles.ADMIN)` -> a permission class for those roles (held in any
    project: the objects are then narrowed per project by annotator.services.access)."""

    allowed: tuple[str, ...] = ()
    message = "your role does not allow this"

    @classmethod
    def of(cls, *names: str) -> type[HasRole]:
        label = " or ".join(names)
        return type(
            f"HasRole_{'_'.join(names)}", (cls,), {"allowed": names, "message": f"only {label} may do this"}
        )

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(
            request.user and request.user.is_authenticated and roles.has_role(request.user, *self.allowed)
        )
