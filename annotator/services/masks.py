"""Saving mask revisions: immutable, hash-addressed, conflict-safe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction

from annotator.errors import Conflict, Forbidden, InvalidTransition, NotFound
from annotator.models import MaskRevision, Slice, SliceState
from annotator.services import access, workflow
from annotator.services.edit_time import stored_edit_seconds
from annotator.services.maskcodec import class_counts, decode_mask, encode_mask, mask_hash, validate_mask
from annotator.users import Viewer


@dataclass
class SaveResult:
    revision: MaskRevision
    conflict: bool
    current: MaskRevision | None  # the head the save was compared against


def project_colours(slice_: Slice) -> list[str]:
    return list(slice_.project.classes.order_by("index").values_list("colour", flat=True))


def build_revision(
    slice_: Slice,
    labels: np.ndarray,
    *,
    source: str,
    author: Any = None,
    parent: MaskRevision | None = None,
    track: str = MaskRevision.Track.MAIN,
    is_conflict: bool = False,
    meta: dict[str, Any] | None = None,
) -> MaskRevision:
    """Validate and store a label map as a new revision (no workflow change)."""
    num_classes = slice_.project.classes.count()
    validate_mask(labels, slice_.height, slice_.width, num_classes)
    return MaskRevision.objects.create(
        slice=slice_,
        parent=parent,
        author=author if getattr(author, "is_authenticated", False) else None,
        source=source,
        track=track,
        png=encode_mask(labels, project_colours(slice_)),
        sha256=mask_hash(labels),
        labelled_pixels=class_counts(labels, num_classes),
        is_conflict=is_conflict,
        meta=meta or {},
    )


def model_ancestor(revision: MaskRevision | None) -> MaskRevision | None:
    """The model revision a chain of revisions started from (walking `parent`), or None."""
    seen: set[int] = set()
    while revision is not None and revision.pk not in seen:
        if revision.source == MaskRevision.Source.MODEL:
            return revision
        seen.add(revision.pk)
        revision = revision.parent
    return None


def prelabel_change(labels: np.ndarray, start: MaskRevision | None, num_classes: int) -> dict[str, Any]:
    """{"total": pixels per class of the pre-label `start`, "changed": of those, pixels that differ in
    `labels` (H, W)}; {} without a pre-label of the same shape."""
    if start is None:
        return {}
    before = revision_labels(start)
    if before.shape != labels.shape:
        return {}
    total = np.bincount(before.ravel(), minlength=num_classes)[:num_classes]
    changed = np.bincount(before[labels != before].ravel(), minlength=num_classes)[:num_classes]
    return {"total": total.astype(int).tolist(), "changed": changed.astype(int).tolist()}


def track_head(slice_: Slice, track: str, author: Any = None) -> MaskRevision | None:
    """Newest non-conflict revision of a track. The main track's head is denormalised on Slice."""
    if track == MaskRevision.Track.MAIN:
        return slice_.head_revision
    qs = MaskRevision.objects.filter(slice=slice_, track=track, is_conflict=False)
    if author is not None:
        qs = qs.filter(author=author)
    return qs.order_by("-id").first()


def save_human_mask(
    *,
    slice_id: int,
    user: Viewer,
    png: bytes,
    base_revision_id: int | None,
    track: str = MaskRevision.Track.MAIN,
    meta: dict[str, Any] | None = None,
) -> SaveResult:
    """Save an annotator's mask. If `base_revision_id` is not the current head, the content is still
    stored (is_conflict=True) and Conflict is raised carrying both ids: nothing is lost, nothing is
    overwritten."""
    labels = decode_mask(png)
    with transaction.atomic():
        slice_ = (
            Slice.objects.select_for_update()
            .select_related("series__session__subject__project")
            .filter(pk=slice_id)
            .first()
        )
        if slice_ is None:
            raise NotFound(f"slice {slice_id} does not exist")
        if not access.can_edit_slice(user, slice_, track):
            raise Forbidden(f"you are not assigned to slice {slice_id}")
        head = track_head(slice_, track, author=user if track != MaskRevision.Track.MAIN else None)
        head_id = head.pk if head else None
        parent = None
        if base_revision_id is not None:
            parent = MaskRevision.objects.filter(pk=base_revision_id, slice=slice_).first()
            if parent is None:
                raise NotFound(f"base revision {base_revision_id} is not a revision of slice {slice_id}")
        stale = base_revision_id != head_id and not (
            # Starting from the pre-label (or any model revision) counts as starting fresh
            # only when the main track has no head yet.
            head_id is None and parent is not None and parent.source == MaskRevision.Source.MODEL
        )
        if track == MaskRevision.Track.MAIN and not stale and slice_.state not in workflow.EDITABLE:
            raise InvalidTransition(
                f"slice {slice_id} is {slice_.state}: it cannot be edited until a supervisor reopens it",
                state=slice_.state,
            )
        revision = build_revision(
            slice_,
            labels,
            source=MaskRevision.Source.HUMAN,
            author=user,
            parent=parent,
            track=track,
            is_conflict=stale,
            meta=meta,
        )
        # Stored once for the annotator statistics (services/annotator_stats).
        revision.edit_seconds = stored_edit_seconds(meta)
        if track == MaskRevision.Track.MAIN:
            num_classes = len(revision.labelled_pixels)
            revision.prelabel_change = prelabel_change(labels, model_ancestor(parent), num_classes)
        revision.save(update_fields=["edit_seconds", "prelabel_change"])
        if stale:
            conflict = Conflict(
                f"slice {slice_id} was saved by someone else since revision {base_revision_id}: "
                f"the newer revision is {head_id}. Your mask is kept as revision {revision.pk}.",
                current_revision=head_id,
                your_revision=revision.pk,
            )
        else:
            if track == MaskRevision.Track.MAIN:
                slice_.head_revision = revision
                slice_.head_at = revision.created_at
                slice_.save(update_fields=["head_revision", "head_at", "updated_at"])
                if slice_.state != SliceState.IN_PROGRESS:
                    workflow.transition(slice_, SliceState.IN_PROGRESS)
            return SaveResult(revision=revision, conflict=False, current=head)
    # Raised after the atomic block has committed the conflicting revision: the work is not lost.
    raise conflict


def save_model_prelabel(slice_: Slice, labels: np.ndarray, meta: dict[str, Any]) -> MaskRevision:
    """Store a model pre-label. It never replaces human work: only unlabelled or pre-labelled
    slices change state; the main-track head is untouched."""
    with transaction.atomic():
        locked = Slice.objects.select_for_update().get(pk=slice_.pk)
        revision = build_revision(
            locked, labels, source=MaskRevision.Source.MODEL, parent=locked.prelabel_revision, meta=meta
        )
        locked.prelabel_revision = revision
        locked.save(update_fields=["prelabel_revision", "updated_at"])
        if locked.state in (SliceState.UNLABELLED, SliceState.PRELABELLED):
            workflow.transition(locked, SliceState.PRELABELLED)
    return revision


def save_imported_mask(slice_: Slice, labels: np.ndarray, meta: dict[str, Any]) -> MaskRevision:
    """An imported reference mask becomes the main-track head, unless the same content is already there."""
    head = slice_.head_revision
    if head is not None and head.sha256 == mask_hash(labels):
        return head
    revision = build_revision(slice_, labels, source=MaskRevision.Source.IMPORT, parent=head, meta=meta)
    slice_.head_revision = revision
    slice_.head_at = revision.created_at
    slice_.save(update_fields=["head_revision", "head_at", "updated_at"])
    return revision


def revision_labels(revision: MaskRevision) -> np.ndarray:
    return decode_mask(bytes(revision.png))
