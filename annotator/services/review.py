"""Supervisor review: decisions (accept / reject with pinned comments), the review queue, the
annotator's own queue, the pre-label -> submission difference and the accepted training set.

Every decision is one transaction on the locked slice and is kept forever as a ReviewDecision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from annotator.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from annotator.models import (
    Assignment,
    MaskRevision,
    ReviewComment,
    ReviewDecision,
    Slice,
    SliceState,
)
from annotator.models.workflow import QUEUE_CLOSED
from annotator.services import access, workflow
from annotator.services.ids import as_db_id
from annotator.services.masks import model_ancestor, revision_labels
from annotator.users import User, Viewer

MAX_PINS = 50
MAX_TEXT = 5000
MAX_POLYGON_POINTS = 1000  # every queue load carries the pins: keep each decision small


@dataclass
class Pin:
    x: float
    y: float
    text: str
    radius: float | None = None
    polygon: list[list[float]] | None = None


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"{name} must be a number, got {value!r}")
    return float(value)


def parse_pins(raw: Any, height: int, width: int) -> list[Pin]:
    """Validate pins from the request body; coordinates are image pixels inside the slice."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInput("pins must be a list of {x, y, radius?, polygon?, text}")
    if len(raw) > MAX_PINS:
        raise InvalidInput(f"at most {MAX_PINS} pins per decision, got {len(raw)}")
    pins: list[Pin] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise InvalidInput(f"pins[{i}] must be an object with x, y and text")
        x, y = _number(item.get("x"), f"pins[{i}].x"), _number(item.get("y"), f"pins[{i}].y")
        if not (0 <= x <= width and 0 <= y <= height):
            raise InvalidInput(f"pins[{i}] at ({x}, {y}) is outside the {width}x{height} image")
        radius = item.get("radius")
        if radius is not None and _number(radius, f"pins[{i}].radius") <= 0:
            raise InvalidInput(f"pins[{i}].radius must be positive")
        polygon = item.get("polygon")
        if polygon is not None:
            if not isinstance(polygon, list) or not 3 <= len(polygon) <= MAX_POLYGON_POINTS:
                raise InvalidInput(
                    f"pins[{i}].polygon must be a list of 3 to {MAX_POLYGON_POINTS} [x, y] points"
                )
            for point in polygon:
                if not isinstance(point, list) or len(point) != 2:
                    raise InvalidInput(f"pins[{i}].polygon points must be [x, y] pairs")
            polygon = [
                [_number(px, f"pins[{i}].polygon x"), _number(py, f"pins[{i}].polygon y")]
                for px, py in polygon
            ]
        text = item.get("text", "")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise InvalidInput(f"pins[{i}].text must be a string of at most {MAX_TEXT} characters")
        pins.append(
            Pin(x=x, y=y, text=text, radius=None if radius is None else float(radius), polygon=polygon)
        )
    return pins


def do_review(
    *,
    slice_id: int,
    reviewer: Any,
    decision: Any,
    comment: Any = "",
    pins: Any = None,
    revision_id: Any = None,
) -> ReviewDecision:
    """Accept (submitted -> accepted) or reject (submitted -> rejected) the slice's head revision.

    403: not a supervisor/admin, or the reviewer authored the head revision. 404: unknown slice.
    409: the slice is not submitted, or `revision_id` is given and is no longer the head.
    400: unknown decision, reject without any comment, malformed pins.
    """
    if not access.can_review(reviewer):
        raise Forbidden("only supervisors and admins may review slices")
    if decision not in ReviewDecision.Decision.values:
        raise InvalidInput(f"decision must be 'accept' or 'reject', got {decision!r}")
    if not isinstance(comment, str) or len(comment) > MAX_TEXT:
        raise InvalidInput(f"comment must be a string of at most {MAX_TEXT} characters")
    with transaction.atomic():
        slice_ = Slice.objects.select_for_update().filter(pk=slice_id).first()
        if slice_ is None:
            raise NotFound(f"slice {slice_id} does not exist")
        parsed = parse_pins(pins, slice_.height, slice_.width)
        if (
            decision == ReviewDecision.Decision.REJECT
            and not comment.strip()
            and not any(p.text for p in parsed)
        ):
            raise InvalidInput(
                "a rejection needs a comment (or a pin with text) telling the annotator what to fix"
            )
        if slice_.state != SliceState.SUBMITTED:
            raise InvalidTransition(
                f"slice {slice_id} is {slice_.state}: only submitted slices can be reviewed",
                state=slice_.state,
            )
        head = slice_.head_revision
        if head is None:
            raise Conflict(f"slice {slice_id} is submitted but has no mask to review")
        if revision_id not in (None, "") and str(revision_id) != str(head.pk):
            raise Conflict(
                f"slice {slice_id} changed since you opened it: you reviewed revision {revision_id}, "
                f"the head is now {head.pk}",
                current_revision=head.pk,
            )
        if head.author_id is not None and head.author_id == reviewer.pk:
            raise Forbidden("you cannot review your own work: another supervisor must review this slice")
        target = SliceState.ACCEPTED if decision == ReviewDecision.Decision.ACCEPT else SliceState.REJECTED
        workflow.transition(slice_, target)
        record = ReviewDecision.objects.create(
            slice=slice_, revision=head, reviewer=reviewer, decision=decision, comment=comment
        )
        ReviewComment.objects.bulk_create(
            ReviewComment(decision=record, x=p.x, y=p.y, radius=p.radius, polygon=p.polygon, text=p.text)
            for p in parsed
        )
        if target == SliceState.ACCEPTED:
            Assignment.objects.filter(
                slice=slice_, purpose=Assignment.Purpose.MAIN, active=True, completed_at__isnull=True
            ).update(completed_at=timezone.now())
    return record


def _pins() -> Prefetch[str, QuerySet[ReviewComment], str]:
    """A decision's pins with who ticked them (one query for all of them)."""
    return Prefetch("pins", queryset=ReviewComment.objects.select_related("resolved_by"))


def decisions_of(slice_: Slice) -> QuerySet[ReviewDecision]:
    return ReviewDecision.objects.filter(slice=slice_).select_related("reviewer").prefetch_related(_pins())


# ---- the annotator's "resolved" tick on a pin (issue 13) ------------------------------------------


def pin_for_tick(user: Viewer, pin_id: int) -> ReviewComment:
    """The pin when `user` may tick it: 404 when its slice is out of the user's sight, 403 when the
    user sees it but neither holds the slice's main assignment nor is staff of its project."""
    # A number beyond the database's ids would overflow its driver: no such pin.
    pin = (
        ReviewComment.objects.filter(pk=pin_id).select_related("decision").first()
        if as_db_id(pin_id)
        else None
    )
    if pin is None:
        raise NotFound(f"pin {pin_id} does not exist")
    try:
        slice_ = access.slice_in_reach(user, pin.decision.slice_id)
    except NotFound:
        raise NotFound(f"pin {pin_id} does not exist") from None
    if not access.can_view_main_mask(user, slice_):
        raise NotFound(f"pin {pin_id} does not exist")
    # can_edit_slice on the main track: supervisors/admins of the project, or the main assignee.
    allowed = access.is_staff_in(user, slice_.project) or access.can_edit_slice(
        user, slice_, MaskRevision.Track.MAIN
    )
    access.require(
        allowed,
        "only the annotator assigned to this slice and the project's staff may tick its review pins",
    )
    return pin


def do_set_pin_resolved(pin: ReviewComment, *, by: Viewer, resolved: bool) -> ReviewComment:
    """Tick (or clear) the pin in one transaction; ticking an already ticked pin keeps who and when."""
    with transaction.atomic():
        locked = ReviewComment.objects.select_for_update().get(pk=pin.pk)
        if resolved and locked.resolved_at is None:
            locked.resolved_at = timezone.now()
            locked.resolved_by_id = by.pk
        elif not resolved:
            locked.resolved_at = None
            locked.resolved_by = None
        locked.save(update_fields=["resolved_at", "resolved_by"])
    return ReviewComment.objects.select_related("resolved_by").get(pk=pin.pk)


def _user_filter(value: str) -> Q:
    user_id = as_db_id(value)
    return Q(pk=user_id) if user_id is not None else Q(username=value)


def review_queue(
    *,
    project: int | None = None,
    annotator: str | None = None,
    series: int | None = None,
    subject: str | None = None,
    class_index: int | None = None,
    older_than_hours: float | None = None,
) -> QuerySet[Slice]:
    """Submitted slices, oldest submitted work (head revision time) first.

    Ordered and filtered on `Slice.head_at` (the head revision's creation time, kept by
    services/masks.py), so the database reads the `(state, head_at, id)` index in order and stops at
    the page instead of joining and sorting every submitted slice.

    `annotator` (id or username) matches the active main assignee or the head's author; `subject` is
    an id or a label; `class_index` keeps slices whose submitted mask contains that class.
    """
    qs = Slice.objects.filter(state=SliceState.SUBMITTED).select_related(
        "head_revision__author", "series__session__subject"
    )
    if project is not None:
        qs = qs.filter(series__session__subject__project_id=project)
    if annotator:
        from django.contrib.auth import get_user_model

        users = get_user_model().objects.filter(_user_filter(annotator)).values("pk")
        qs = qs.filter(
            Q(head_revision__author__in=users)
            | Q(assignments__annotator__in=users, assignments__active=True, assignments__purpose="main")
        ).distinct()
    if series is not None:
        qs = qs.filter(series_id=series)
    if subject:
        subject_id = as_db_id(subject)
        key = Q(series__session__subject_id=subject_id) if subject_id is not None else Q()
        qs = qs.filter(key | Q(series__session__subject__label=subject))
    if class_index is not None:
        qs = qs.filter(**{f"head_revision__labelled_pixels__{class_index}__gt": 0})
    if older_than_hours is not None:
        qs = qs.filter(head_at__lte=timezone.now() - timedelta(hours=older_than_hours))
    return qs.order_by("head_at", "id")


@dataclass
class QueueRow:
    """One of an annotator's active assignments, with the latest rejection when it was rejected."""

    slice: Slice
    assignment: Assignment
    review: ReviewDecision | None


def my_queue(user: User) -> QuerySet[Assignment]:
    """The user's open assignments in projects where they still hold a role, in their stored queue
    order (models/workflow.py: rejected main work first, then in progress and open double / gold
    tasks, pre-labelled, unlabelled; then rank, slice id). Submitted or accepted main work is not
    listed (nothing left to do). Read in the `assignment_queue_order` index order, so a page of it
    costs the same whatever the number of slices the user ever held."""
    return (
        access.held_assignments(user)
        .filter(queue_priority__lt=QUEUE_CLOSED)
        .select_related("slice__series__session__subject")
        .order_by("queue_priority", "queue_rank", "slice_id", "id")
    )


def queue_rows(assignments: Any) -> list[QueueRow]:
    """Assignments (a page of `my_queue`) with the latest rejection of each rejected main slice."""
    assignments = list(assignments)
    rejected_ids = {
        a.slice_id
        for a in assignments
        if a.purpose == Assignment.Purpose.MAIN and a.slice.state == SliceState.REJECTED
    }
    # One query (plus one for pins) for the whole page, not one per rejected row: newest first, so
    # the first decision seen per slice is its latest rejection.
    latest: dict[int, ReviewDecision] = {}
    if rejected_ids:
        rejections = (
            ReviewDecision.objects.filter(slice_id__in=rejected_ids, decision=ReviewDecision.Decision.REJECT)
            .select_related("reviewer")
            .prefetch_related(_pins())
        )
        for decision in rejections:
            latest.setdefault(decision.slice_id, decision)
    return [
        QueueRow(a.slice, a, latest.get(a.slice_id) if a.slice_id in rejected_ids else None)
        for a in assignments
    ]


def starting_prelabel(slice_: Slice) -> MaskRevision | None:
    """The model revision the head descends from (walking `parent`), else the slice's pre-label."""
    return model_ancestor(slice_.head_revision) or slice_.prelabel_revision


@dataclass
class MaskDiff:
    """`changed` (H, W) bool; per class pixels `added` to / `removed` from the pre-label's class."""

    head: MaskRevision
    prelabel: MaskRevision | None
    head_labels: np.ndarray  # (H, W) uint8
    changed: np.ndarray  # (H, W) bool
    added: list[int]
    removed: list[int]


def mask_diff(slice_: Slice, num_classes: int) -> MaskDiff:
    """Compare the head revision with the pre-label it started from (all pixels "added" if none)."""
    head = slice_.head_revision
    if head is None:
        raise NotFound(f"slice {slice_.pk} has no submitted mask yet")
    labels = revision_labels(head)
    prelabel = starting_prelabel(slice_)
    before = revision_labels(prelabel) if prelabel is not None else np.zeros_like(labels)
    if before.shape != labels.shape:
        before = np.zeros_like(labels)
    changed = labels != before
    added = np.bincount(labels[changed].ravel(), minlength=num_classes)[:num_classes]
    removed = np.bincount(before[changed].ravel(), minlength=num_classes)[:num_classes]
    return MaskDiff(head, prelabel, labels, changed, added.astype(int).tolist(), removed.astype(int).tolist())
