"""Who may see and change what. Roles are Django groups plus project memberships
(annotator.services.roles); every rule below holds per project.

Reads: annotators see only slices they hold an active assignment for (others' slices are 404);
supervisors, ML staff and admins see everything of their projects. A project the user holds no role
in is invisible (404). Writes on a slice someone else holds are 403.
"""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Value
from rest_framework.permissions import BasePermission

from annotator.errors import Forbidden, NotFound
from annotator.models import (
    Assignment,
    Job,
    MaskRevision,
    ModelVersion,
    Project,
    Series,
    Slice,
    Subject,
    TrainingRound,
)
from annotator.services import roles

SLICE_PROJECT = "series__session__subject__project"


def full_view_projects(user: Any) -> QuerySet[Project]:
    """Projects whose every case the user sees (supervisor, ML staff or admin there)."""
    return roles.projects_where(user, *roles.EVERYTHING)


def visible_slices(user: Any) -> QuerySet[Slice]:
    qs = Slice.objects.all()
    if roles.sees_all_projects(user):
        return qs
    held = Assignment.objects.filter(
        annotator=user.pk,
        active=True,
        **{f"slice__{SLICE_PROJECT}__in": roles.projects_where(user)},
    )
    return qs.filter(
        Q(**{f"{SLICE_PROJECT}__in": full_view_projects(user)}) | Q(pk__in=held.values("slice_id"))
    )


def visible_series(user: Any) -> QuerySet[Series]:
    if roles.sees_all_projects(user):
        return Series.objects.all()
    return Series.objects.filter(
        Q(session__subject__project__in=full_view_projects(user))
        | Q(pk__in=visible_slices(user).values("series_id"))
    )


def visible_subjects(user: Any) -> QuerySet[Subject]:
    if roles.sees_all_projects(user):
        return Subject.objects.all()
    return Subject.objects.filter(
        Q(project__in=full_view_projects(user))
        | Q(pk__in=visible_slices(user).values("series__session__subject_id"))
    )


def visible_projects(user: Any) -> QuerySet[Project]:
    """Projects the user holds any role in."""
    return roles.projects_where(user)


def main_track_slices(user: Any) -> QuerySet[Slice]:
    """Slices whose main-track human work the annotator may see: those they hold the main assignment
    of, or authored a main revision on (services.review.can_view_main_mask, as a query)."""
    held = Assignment.objects.filter(annotator=user, active=True, purpose=Assignment.Purpose.MAIN)
    authored = MaskRevision.objects.filter(author=user, track=MaskRevision.Track.MAIN)
    return Slice.objects.filter(Q(pk__in=held.values("slice_id")) | Q(pk__in=authored.values("slice_id")))


def blind_annotation(user: Any) -> Any:
    """A boolean annotation for Slice querysets: true where the user annotates blind (a double or
    gold assignment without the main one), so the first annotator's work must stay hidden."""
    if roles.sees_all_projects(user):
        return Value(False)
    sighted = Q(**{f"{SLICE_PROJECT}__in": full_view_projects(user)}) | Q(
        Exists(main_track_slices(user).filter(pk=OuterRef("pk")))
    )
    return ExpressionWrapper(~sighted, output_field=BooleanField())


def visible_revisions(user: Any) -> QuerySet[MaskRevision]:
    """Annotators see their own revisions, the model's pre-labels, and the main track of the slices
    they annotate on it. Blind double/gold annotation stays blind: not even the first annotator's
    revision ids, names, pixel counts or hashes show."""
    qs = MaskRevision.objects.all()
    if roles.sees_all_projects(user):
        return qs
    main = Q(track=MaskRevision.Track.MAIN)
    return qs.filter(slice__in=visible_slices(user)).filter(
        Q(**{f"slice__{SLICE_PROJECT}__in": full_view_projects(user)})
        | Q(author=user)
        | (main & Q(source=MaskRevision.Source.MODEL))
        | (main & Q(slice__in=main_track_slices(user)))
    )


def job_of_projects(project_ids: set[int]) -> Q:
    """Jobs that belong to one of the projects: imports/exports/rounds name it in their params,
    fold/ranking jobs name their round or model version, and child jobs follow their parent."""
    rounds = list(TrainingRound.objects.filter(project_id__in=project_ids).values_list("pk", flat=True))
    versions = list(ModelVersion.objects.filter(project_id__in=project_ids).values_list("pk", flat=True))
    own = Q(params__project__in=sorted(project_ids)) | Q(params__round__in=rounds)
    own |= Q(params__version__in=versions)
    return own | Q(parent__params__round__in=rounds) | Q(parent__params__project__in=sorted(project_ids))


def visible_jobs(user: Any) -> QuerySet[Job]:
    """Own jobs, and the jobs of projects the user sees fully. Global staff (by group) also see jobs
    tied to no project, as before projects had members."""
    if roles.sees_all_projects(user):
        return Job.objects.all()
    full = set(full_view_projects(user).values_list("pk", flat=True))
    if roles.group_roles(user) & set(roles.EVERYTHING):
        hidden = set(Project.objects.exclude(pk__in=full).values_list("pk", flat=True))
        return Job.objects.exclude(job_of_projects(hidden) & ~Q(created_by=user.pk))
    return Job.objects.filter(Q(created_by=user.pk) | job_of_projects(full))


def get_visible_slice(user: Any, slice_id: int) -> Slice:
    found = (
        visible_slices(user).filter(pk=slice_id).select_related("series__session__subject__project").first()
    )
    if found is None:
        raise NotFound(f"slice {slice_id} does not exist")
    return found


def get_slice_for_write(user: Any, slice_id: int) -> Slice:
    """Unknown slice (or one of a project the user has no role in) -> 404; a slice the user may not
    change -> 403."""
    found = Slice.objects.filter(pk=slice_id).select_related("series__session__subject__project").first()
    if found is None or not roles.roles_in(user, found.project):
        raise NotFound(f"slice {slice_id} does not exist")
    if not roles.has_role_in(user, found.project, roles.ANNOTATOR, roles.SUPERVISOR, roles.ADMIN):
        raise Forbidden("your role may look at cases but not change them")
    return found


def get_visible_project(user: Any, project: Project | None) -> Project:
    """The project, or 404 when the user holds no role in it (so its existence does not leak)."""
    if project is None or not roles.roles_in(user, project):
        raise NotFound(
            "project does not exist" if project is None else f"project {project.slug!r} does not exist"
        )
    return project


def require_role_in(user: Any, project: Project, *names: str, what: str) -> None:
    """404 outside the user's projects; 403 when their role there does not allow `what`."""
    get_visible_project(user, project)
    if not roles.has_role_in(user, project, *names):
        raise Forbidden(f"your role in project {project.slug!r} does not allow you to {what}")


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
