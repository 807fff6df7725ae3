"""Every access rule of SpineLab: who may see a project, view, edit or review a slice, launch rounds,
export, import, assign work and manage projects. API permissions, pages and services all ask here.

Roles come from annotator.services.roles (global groups plus project memberships). The rules:
- A project the user holds no role in is invisible: the project and everything in it answer 404.
- A role that does not allow an action in a project is a 403, even when it is held elsewhere.
- Supervisors, ML staff and admins of a project see all its cases ("staff"); its annotators see the
  slices they hold an active assignment for. Blind double/gold annotation stays blind.
- Global gates (`can_*(user)` without a project) open an endpoint or page for anyone who holds the
  role in some project; the objects behind it are then narrowed per project.

Errors are annotator.errors `NotFound` / `Forbidden`; pages turn them into responses with
annotator.pages.common.access_checked.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Value

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
from annotator.services.ids import as_db_id
from annotator.users import Viewer

User: TypeAlias = Viewer  # annotator.users: auth.User or AnonymousUser
ProjectRef: TypeAlias = Project | int | str | None

SLICE_PROJECT = "series__session__subject__project"

# Who may do what inside a project.
STAFF = roles.EVERYTHING  # see every case, rounds, dashboard, agreement, statistics
EDITORS = (roles.ANNOTATOR, roles.SUPERVISOR, roles.ADMIN)  # change masks
REVIEWERS = (roles.SUPERVISOR, roles.ADMIN)  # review, assign, double/gold, import
IMPORTERS = REVIEWERS
EXPORTERS = STAFF
TRAINERS = (roles.ML_STAFF, roles.ADMIN)  # launch/cancel rounds, promote models, pre-label
MEMBER_VIEWERS = REVIEWERS  # see a project's member list (besides site admins)


# ---- global gates: the role somewhere opens the endpoint or page -------------------------------


def is_annotator(user: User) -> bool:
    return roles.has_role(user, roles.ANNOTATOR)


def is_staff(user: User) -> bool:
    """Supervisors, ML staff and admins (of some project): review pages, rounds, agreement."""
    return roles.has_role(user, *STAFF)


def can_review(user: User) -> bool:
    return roles.has_role(user, *REVIEWERS)


def can_import(user: User) -> bool:
    return roles.has_role(user, *IMPORTERS)


def can_export(user: User) -> bool:
    return roles.has_role(user, *EXPORTERS)


def can_train(user: User) -> bool:
    """Launch and cancel rounds, promote models, pre-label; also sees job tracebacks."""
    return roles.has_role(user, *TRAINERS)


def sees_job_errors(user: User) -> bool:
    return can_train(user)


def can_manage_projects(user: User) -> bool:
    """Site admins (superusers, global admin group) create projects and manage schemas and members."""
    return roles.is_global_admin(user)


def require(allowed: bool, message: str) -> None:
    """403 with `message` unless `allowed`."""
    if not allowed:
        raise Forbidden(message)


# ---- projects ------------------------------------------------------------------------------------


def sees_all_projects(user: User) -> bool:
    """Every case of every project (superusers; global staff while no project is members-only)."""
    return roles.sees_all_projects(user)


def visible_projects(user: User) -> QuerySet[Project]:
    """Projects the user holds any role in."""
    return roles.projects_where(user)


def projects_where(user: User, *names: str) -> QuerySet[Project]:
    """Projects where the user holds one of `names` (any role when none are named)."""
    return roles.projects_where(user, *names)


def staff_projects(user: User) -> QuerySet[Project]:
    """Projects whose every case the user sees (supervisor, ML staff or admin there)."""
    return roles.projects_where(user, *STAFF)


def has_role_in(user: User, project: Project | int, *names: str) -> bool:
    return roles.has_role_in(user, project, *names)


def is_staff_in(user: User, project: Project | int) -> bool:
    return roles.has_role_in(user, project, *STAFF)


def find_project(ref: ProjectRef) -> Project | None:
    """A project by instance, id or slug (a string of digits is tried as a slug, then as an id); the
    default project when `ref` is empty; None when unknown."""
    from annotator.services.projects import default_project

    if isinstance(ref, Project):
        return ref
    if ref is None or ref == "":
        return default_project()
    if isinstance(ref, int):
        return Project.objects.filter(pk=ref).first()
    found = Project.objects.filter(slug=ref).first()
    project_id = as_db_id(ref)
    if found is None and project_id is not None:
        found = Project.objects.filter(pk=project_id).first()
    return found


def get_visible_project(user: User, project: Project | None) -> Project:
    """The project, or 404 when the user holds no role in it (so its existence does not leak)."""
    if project is None or not roles.roles_in(user, project):
        raise NotFound(
            "project does not exist" if project is None else f"project {project.slug!r} does not exist"
        )
    return project


def require_role_in(user: User, project: Project, *names: str, what: str) -> Project:
    """404 outside the user's projects; 403 when their role there does not allow `what`."""
    get_visible_project(user, project)
    if not roles.has_role_in(user, project, *names):
        raise Forbidden(f"your role in project {project.slug!r} does not allow you to {what}")
    return project


def project_for(user: User, ref: ProjectRef, *names: str, what: str) -> Project:
    """The one "project from a request" rule: `ref` is an id, a slug or empty (the default project).
    Unknown, or a project the user holds no role in -> 404; none of `names` there -> 403 naming `what`.
    With no `names` any role will do."""
    found = find_project(ref)
    if found is None:
        raise NotFound(f"project {ref!r} does not exist")
    if not names:
        return get_visible_project(user, found)
    return require_role_in(user, found, *names, what=what)


def project_from_request(request: Any, *names: str, what: str, field: str = "project") -> Project:
    """`project_for` on the raw `?project=` (or POSTed `project`) of a page request."""
    raw = request.GET.get(field) or getattr(request, "POST", {}).get(field) or None
    return project_for(request.user, raw, *names, what=what)


def can_see_members(user: User, project: Project) -> bool:
    return roles.has_role_in(user, project, *MEMBER_VIEWERS)


def annotates_in(user: User, project: Project | int) -> bool:
    """Work (assignments, double/gold annotation) goes only to the project's annotators."""
    return roles.has_role_in(user, project, roles.ANNOTATOR)


def may_be_assigned_in(user: User, project: Project | int) -> bool:
    return roles.has_role_in(user, project, *EDITORS)


# ---- slices, series, subjects, revisions -----------------------------------------------------------


def in_every_project(user: User) -> bool:
    """True when the user holds a role in every project (a site with one project, or global groups
    while no project is members-only): "in a project where they hold a role" then rules nothing out,
    and the visibility queries leave out its join of each row up to its project. Kept on the user
    object for the request, like its roles."""
    cached = getattr(user, "_spinelab_everywhere", None)
    if cached is None:
        cached = not Project.objects.exclude(pk__in=roles.projects_where(user)).exists()
        setattr(user, "_spinelab_everywhere", cached)  # noqa: B010 (a per-request cache on the user)
    return bool(cached)


def has_staff_projects(user: User) -> bool:
    """Whether the user sees every case of some project (kept on the user object for the request)."""
    cached = getattr(user, "_spinelab_has_staff", None)
    if cached is None:
        cached = staff_projects(user).exists()
        setattr(user, "_spinelab_has_staff", cached)  # noqa: B010
    return bool(cached)


def held_assignments(user: User) -> QuerySet[Assignment]:
    """The user's active assignments (any purpose) in projects where they hold a role."""
    held = Assignment.objects.filter(annotator=user.pk, active=True)
    if not in_every_project(user):
        held = held.filter(**{f"slice__{SLICE_PROJECT}__in": roles.projects_where(user)})
    return held


def visible_slices(user: User) -> QuerySet[Slice]:
    """Staff see every slice of their projects; annotators the slices they hold an active assignment
    of (any purpose) in projects where they hold a role."""
    qs = Slice.objects.all()
    if roles.sees_all_projects(user):
        return qs
    # EXISTS on the (slice, annotator) assignment index rather than "pk IN (every held slice)": a page
    # of slices in (series, index) order then reads the slice index in order and stops at the page,
    # instead of collecting and sorting all of the annotator's slices first.
    held = Exists(Assignment.objects.filter(slice=OuterRef("pk"), annotator=user.pk, active=True).order_by())
    if not in_every_project(user):
        qs = qs.filter(**{f"{SLICE_PROJECT}__in": roles.projects_where(user)})
    if not has_staff_projects(user):
        # No project where they see every case: the OR below would only cost a join per row.
        return qs.filter(held)
    return qs.filter(Q(**{f"{SLICE_PROJECT}__in": staff_projects(user)}) | held)


def visible_series(user: User) -> QuerySet[Series]:
    if roles.sees_all_projects(user):
        return Series.objects.all()
    return Series.objects.filter(
        Q(session__subject__project__in=staff_projects(user))
        | Q(pk__in=held_assignments(user).values("slice__series_id"))
    )


def visible_subjects(user: User) -> QuerySet[Subject]:
    if roles.sees_all_projects(user):
        return Subject.objects.all()
    return Subject.objects.filter(
        Q(project__in=staff_projects(user))
        | Q(pk__in=held_assignments(user).values("slice__series__session__subject_id"))
    )


def slice_in_reach(user: User, slice_id: int, *related: str) -> Slice:
    """The slice when the user holds any role in its project, else 404. Which slices of the project
    they may open is a further rule (`can_open_slice`, `can_view_main_mask`)."""
    found = (
        Slice.objects.filter(pk=slice_id)
        .select_related("series__session__subject__project", *related)
        .first()
    )
    if found is None or not roles.roles_in(user, found.project):
        raise NotFound(f"slice {slice_id} does not exist")
    return found


def get_visible_slice(user: User, slice_id: int) -> Slice:
    found = (
        visible_slices(user).filter(pk=slice_id).select_related("series__session__subject__project").first()
    )
    if found is None:
        raise NotFound(f"slice {slice_id} does not exist")
    return found


def get_slice_for_write(user: User, slice_id: int) -> Slice:
    """Unknown slice (or one of a project the user has no role in) -> 404; a role that may only look
    -> 403."""
    found = slice_in_reach(user, slice_id)
    if not roles.has_role_in(user, found.project, *EDITORS):
        raise Forbidden("your role may look at cases but not change them")
    return found


def can_open_slice(user: User, slice_: Slice) -> bool:
    """The editor: staff open every slice of their projects; annotators the slices assigned to them
    (any purpose) in projects they annotate."""
    project = slice_.series.session.subject.project
    if roles.has_role_in(user, project, *STAFF):
        return True
    if not roles.has_role_in(user, project, roles.ANNOTATOR):
        return False
    return Assignment.objects.filter(slice=slice_, annotator=user.pk, active=True).exists()


def can_edit_slice(user: User, slice_: Slice, track: str = MaskRevision.Track.MAIN) -> bool:
    """Supervisors and admins of the slice's project edit any slice; its annotators the ones they hold
    an active assignment of on that track."""
    held = roles.roles_in(user, slice_.series.session.subject.project_id)
    if held & set(REVIEWERS):
        return True
    if roles.ANNOTATOR not in held:
        return False
    return Assignment.objects.filter(slice=slice_, annotator=user.pk, active=True, purpose=track).exists()


def can_view_main_mask(user: User, slice_: Slice) -> bool:
    """Blind double / gold annotation: an annotator sees the main-track mask only when they hold the
    slice's main assignment (or authored a main revision); staff of the slice's project always."""
    if roles.has_role_in(user, slice_.project, *STAFF):
        return True
    if not user.is_authenticated:
        return False
    if Assignment.objects.filter(
        slice=slice_, annotator=user.pk, active=True, purpose=Assignment.Purpose.MAIN
    ).exists():
        return True
    return MaskRevision.objects.filter(slice=slice_, author=user.pk, track=MaskRevision.Track.MAIN).exists()


def require_reviewer_of(user: User, project: Project, what: str = "review slices") -> Project:
    """Review, double/gold hand-out and gold marking: supervisors and admins of the project."""
    return require_role_in(user, project, *REVIEWERS, what=what)


def main_track_slices(user: User) -> QuerySet[Slice]:
    """Slices whose main-track human work the annotator may see (`can_view_main_mask` as a query)."""
    held = Assignment.objects.filter(annotator=user.pk, active=True, purpose=Assignment.Purpose.MAIN)
    authored = MaskRevision.objects.filter(author=user.pk, track=MaskRevision.Track.MAIN)
    return Slice.objects.filter(Q(pk__in=held.values("slice_id")) | Q(pk__in=authored.values("slice_id")))


def blind_annotation(user: User) -> Any:
    """A boolean annotation for Slice querysets: true where the user annotates blind (a double or
    gold assignment without the main one), so the first annotator's work must stay hidden."""
    if roles.sees_all_projects(user):
        return Value(False)
    # `main_track_slices` per row: two index probes (assignment by slice, revision by slice) instead
    # of collecting every slice the user holds or authored before the page is read.
    sighted = Q(
        Exists(
            Assignment.objects.filter(
                slice=OuterRef("pk"), annotator=user.pk, active=True, purpose=Assignment.Purpose.MAIN
            ).order_by()
        )
    ) | Q(
        Exists(
            MaskRevision.objects.filter(
                slice=OuterRef("pk"), author=user.pk, track=MaskRevision.Track.MAIN
            ).order_by()
        )
    )
    if has_staff_projects(user):
        sighted = Q(**{f"{SLICE_PROJECT}__in": staff_projects(user)}) | sighted
    return ExpressionWrapper(~sighted, output_field=BooleanField())


def visible_revisions(user: User) -> QuerySet[MaskRevision]:
    """Annotators see their own revisions, the model's pre-labels, and the main track of the slices
    they annotate on it. Blind double/gold annotation stays blind: not even the first annotator's
    revision ids, names, pixel counts or hashes show."""
    qs = MaskRevision.objects.all()
    if roles.sees_all_projects(user):
        return qs
    main = Q(track=MaskRevision.Track.MAIN)
    sees = Q(**{f"slice__{SLICE_PROJECT}__in": staff_projects(user)}) | Q(
        slice__in=held_assignments(user).values("slice_id")
    )
    return qs.filter(sees).filter(
        Q(**{f"slice__{SLICE_PROJECT}__in": staff_projects(user)})
        | Q(author=user.pk)
        | (main & Q(source=MaskRevision.Source.MODEL))
        | (main & Q(slice__in=main_track_slices(user)))
    )


# ---- jobs ------------------------------------------------------------------------------------------


def job_of_projects(project_ids: set[int]) -> Q:
    """Jobs that belong to one of the projects: imports/exports/rounds name it in their params,
    fold/ranking jobs name their round or model version, and child jobs follow their parent."""
    rounds = list(TrainingRound.objects.filter(project_id__in=project_ids).values_list("pk", flat=True))
    versions = list(ModelVersion.objects.filter(project_id__in=project_ids).values_list("pk", flat=True))
    own = Q(params__project__in=sorted(project_ids)) | Q(params__round__in=rounds)
    own |= Q(params__version__in=versions)
    return own | Q(parent__params__round__in=rounds) | Q(parent__params__project__in=sorted(project_ids))


def visible_jobs(user: User) -> QuerySet[Job]:
    """Own jobs, and the jobs of projects the user sees fully. Global staff (by group) also see jobs
    tied to no project, as before projects had members."""
    if roles.sees_all_projects(user):
        return Job.objects.all()
    full = set(staff_projects(user).values_list("pk", flat=True))
    if roles.group_roles(user) & set(STAFF):
        hidden = set(Project.objects.exclude(pk__in=full).values_list("pk", flat=True))
        return Job.objects.exclude(job_of_projects(hidden) & ~Q(created_by=user.pk))
    return Job.objects.filter(Q(created_by=user.pk) | job_of_projects(full))


def can_manage_job(user: User, job: Job, action: str) -> bool:
    """ML staff and admins manage every job; whoever launched a job may cancel it, and retry it when it
    is their own import."""
    if can_train(user):
        return True
    own = job.created_by_id is not None and job.created_by_id == user.pk
    return own and (action == "cancel" or job.kind == "import")
