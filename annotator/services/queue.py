"""The annotator's work queue: which slice comes next, and claiming it without races.

Order: my open main assignments in their stored queue order (rejected, in progress, pre-labelled,
unlabelled; then rank), then unassigned unlabelled/pre-labelled slices by active-learning `rank`
(nulls last) then id. A claim is an Assignment row; the partial unique constraint "one active main
assignment per slice" makes a double claim impossible, so two annotators asking at the same moment
always get different slices.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from annotator.models import Assignment, Slice, SliceState
from annotator.models.workflow import QUEUE_CLOSED
from annotator.services import access, roles
from annotator.users import User, Viewer

CLAIMABLE_STATES = (SliceState.UNLABELLED, SliceState.PRELABELLED)
MAX_CLAIM_ATTEMPTS = 20


def by_rank(qs: QuerySet[Slice]) -> QuerySet[Slice]:
    return qs.order_by(F("rank").asc(nulls_last=True), "id")


def unassigned_slices(project_id: int | None = None) -> QuerySet[Slice]:
    qs = Slice.objects.filter(state__in=CLAIMABLE_STATES).exclude(
        assignments__active=True, assignments__purpose=Assignment.Purpose.MAIN
    )
    if project_id is not None:
        qs = qs.filter(series__session__subject__project_id=project_id)
    return qs


def annotated_projects(user: Viewer) -> QuerySet[Any]:
    """Projects where the user annotates: the queue never hands out a slice of another project."""
    return access.projects_where(user, roles.ANNOTATOR)


def next_slice(user: User, project_id: int | None = None) -> Slice | None:
    """The slice `user` should open next, claiming an unassigned one if needed; None when none is left.

    Own main work first, in the stored queue order that "My slices" shows (models/workflow.py:
    rejected, in progress, pre-labelled, unlabelled; then rank), read in index order."""
    mine = Assignment.objects.filter(
        annotator=user,
        active=True,
        purpose=Assignment.Purpose.MAIN,
        queue_priority__lt=QUEUE_CLOSED,
        slice__series__session__subject__project__in=annotated_projects(user),
    )
    if project_id is not None:
        mine = mine.filter(slice__series__session__subject__project_id=project_id)
    first = mine.select_related("slice").order_by("queue_priority", "queue_rank", "slice_id").first()
    if first is not None:
        mark_opened(first.slice, user)
        return first.slice
    return claim_unassigned(user, project_id)


def claim_unassigned(user: User, project_id: int | None = None) -> Slice | None:
    """Create a main Assignment for the first free slice. A lost race (IntegrityError on the unique
    constraint) just moves on to the next candidate."""
    skipped: list[int] = []
    for _ in range(MAX_CLAIM_ATTEMPTS):
        candidate = by_rank(
            unassigned_slices(project_id)
            .filter(series__session__subject__project__in=annotated_projects(user))
            .exclude(pk__in=skipped)
        ).first()
        if candidate is None:
            return None
        try:
            with transaction.atomic():
                locked = (
                    Slice.objects.select_for_update()
                    .filter(pk=candidate.pk, state__in=CLAIMABLE_STATES)
                    .first()
                )
                if locked is None:
                    raise IntegrityError("slice changed state")
                Assignment.objects.create(
                    slice=locked,
                    annotator=user,
                    assigned_by=None,
                    purpose=Assignment.Purpose.MAIN,
                    opened_at=timezone.now(),
                )
            return locked
        except IntegrityError:
            skipped.append(candidate.pk)
    return None


def mark_opened(slice_: Slice, user: User) -> None:
    Assignment.objects.filter(
        slice=slice_, annotator=user, active=True, purpose=Assignment.Purpose.MAIN, opened_at__isnull=True
    ).update(opened_at=timezone.now())


def assign_slices(
    slices: list[Slice],
    annotator: Any,
    *,
    by: Any,
    purpose: str = Assignment.Purpose.MAIN,
    reassign: bool = False,
) -> tuple[list[Assignment], list[dict[str, Any]]]:
    """A supervisor hands `slices` to `annotator` in one transaction -> (created, skipped).

    A slice already held by someone else on the main track is skipped (reported with the holder)
    unless `reassign`, which ends the other assignment first. Already holding it: skipped, no duplicate."""
    created: list[Assignment] = []
    skipped: list[dict[str, Any]] = []
    with transaction.atomic():
        locked = {s.pk: s for s in Slice.objects.select_for_update().filter(pk__in=[s.pk for s in slices])}
        for slice_ in slices:
            current = Assignment.objects.filter(slice_id=slice_.pk, active=True, purpose=purpose)
            if current.filter(annotator=annotator).exists():
                skipped.append({"slice": slice_.pk, "reason": f"already assigned to {annotator.username}"})
                continue
            if purpose == Assignment.Purpose.MAIN:
                other = current.select_related("annotator").first()
                if other is not None and not reassign:
                    skipped.append({"slice": slice_.pk, "reason": f"held by {other.annotator.username}"})
                    continue
                current.update(active=False)
            created.append(
                Assignment.objects.create(
                    slice=locked[slice_.pk], annotator=annotator, assigned_by=by, purpose=purpose
                )
            )
    return created, skipped
