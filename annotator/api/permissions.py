"""Who may see and change what. Roles are Django groups (annotator.services.roles).

Reads: annotators see only slices they hold an active assignment for (others' slices are 404);
supervisors, ML staff and admins see everything. Writes on a slice someone else holds are 403.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from rest_framework.permissions import BasePermission

from annotator.errors import Forbidden, NotFound
from annotator.models import Assignment, Job, MaskRevision, Series, Slice, Subject
from annotator.services import roles


def visible_slices(user: Any) -> QuerySet[Slice]:
    qs = Slice.objects.all()
    if roles.sees_everything(user):
        return qs
    return qs.filter(assignments__annotator=user, assignments__active=True).distinct()


def visible_series(user: Any) -> QuerySet[Series]:
    if roles.sees_everything(user):
        return Series.objects.all()
    return Series.objects.filter(pk__in=visible_slices(user).values("series_id"))


def visible_subjects(user: Any) -> QuerySet[Subject]:
    if roles.sees_everything(user):
        return Subject.objects.all()
    return Subject.objects.filter(pk__in=visible_slices(user).values("series__session__subject_id"))


def main_track_slices(user: Any) -> QuerySet[Slice]:
    """Slices whose main-track human work the annotator may see: those they hold the main assignment
    of, or authored a main revision on (services.review.can_view_main_mask, as a query)."""
    held = Assignment.objects.filter(annotator=user, active=True, purpose=Assignment.Purpose.MAIN)
    authored = MaskRevision.objects.filter(author=user, track=MaskRevision.Track.MAIN)
    return Slice.objects.filter(Q(pk__in=held.values("slice_id")) | Q(pk__in=authored.values("slice_id")))


def blind_annotation(user: Any) -> Any:
    """A boolean annotation for Slice querysets: true where the user annotates blind (a double or
    gold assignment without the main one), so the first annotator's work must stay hidden."""
    if roles.sees_everything(user):
        return Value(False)
    return ~Exists(main_track_slices(user).filter(pk=OuterRef("pk")))


def visible_revisions(user: Any) -> QuerySet[MaskRevision]:
    """Annotators see their own revisions, the model's pre-labels, and the main track of the slices
    they annotate on it. Blind double/gold annotation stays blind: not even the first annotator's
    revision ids, names, pixel counts or hashes show."""
    qs = MaskRevision.objects.all()
    if roles.sees_everything(user):
        return qs
    main = Q(track=MaskRevision.Track.MAIN)
    return qs.filter(slice__in=visible_slices(user)).filter(
        Q(author=user)
        | (main & Q(source=MaskRevision.Source.MODEL))
        | (main & Q(slice__in=main_track_slices(user)))
    )


def visible_jobs(user: Any) -> QuerySet[Job]:
    if roles.sees_everything(user):
        return Job.objects.all()
    return Job.objects.filter(created_by=user)


def get_visible_slice(user: Any, slice_id: int) -> Slice:
    found = (
        visible_slices(user).filter(pk=slice_id).select_related("series__session__subject__project").first()
    )
    if found is None:
        raise NotFound(f"slice {slice_id} does not exist")
    return found


def get_slice_for_write(user: Any, slice_id: int) -> Slice:
    """Unknown slice -> 404; a slice the user may not change -> 403."""
    found = Slice.objects.filter(pk=slice_id).select_related("series__session__subject__project").first()
    if found is None:
        raise NotFound(f"slice {slice_id} does not exist")
    if not roles.has_role(user, roles.ANNOTATOR, roles.SUPERVISOR, roles.ADMIN):
        raise Forbidden("your role may look at cases but not change them")
    return found


def can_manage_job(user: Any, job: Job, action: str) -> bool:
    """ML staff and admins manage every job; whoever launched a job may cancel it, and retry it when it
    is their own import."""
    if roles.is_ml_staff(user):
        return True
    own = job.created_by_id is not None and job.created_by_id == user.pk
    return own and (action == "cancel" or job.kind == "import")


class HasRole(BasePermission):
    """`HasRole.of(roles.SUPERVISOR, roles.ADMIN)` -> a permission class for those roles."""

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
