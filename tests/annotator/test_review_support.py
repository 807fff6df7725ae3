"""Helpers shared by the review tests (no tests here): slices pre-labelled, painted and submitted."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import transaction

from annotator.models import Assignment, Slice, SliceState
from annotator.services import workflow
from annotator.services.maskcodec import encode_mask
from annotator.services.masks import save_human_mask, save_model_prelabel


def png(labels: np.ndarray) -> bytes:
    return encode_mask(labels.astype(np.uint8))


def prelabel_of(slice_: Slice) -> np.ndarray:
    """The model's guess: vertebra (1) in the top-left block, (H, W) uint8."""
    labels = np.zeros((slice_.height, slice_.width), np.uint8)
    labels[:10, :10] = 1
    return labels


def painted_of(slice_: Slice) -> np.ndarray:
    """The annotator's fix of the pre-label: 20 pixels relabelled to disc (3), 6 new spinal cavity (4)."""
    labels = prelabel_of(slice_)
    labels[:2, :10] = 3
    labels[20:22, 30:33] = 4
    return labels


def submit(slice_id: int) -> None:
    with transaction.atomic():
        locked = Slice.objects.select_for_update().get(pk=slice_id)
        workflow.transition(locked, SliceState.SUBMITTED)


def submitted_slice(make_slices: Any, users: dict[str, Any], author: str = "alice", **kw: Any) -> Slice:
    """A slice pre-labelled by the model, painted by `author` (main assignment) and submitted."""
    (slice_,) = make_slices(1, **kw)
    pre = save_model_prelabel(slice_, prelabel_of(slice_), {"model": "test"})
    Assignment.objects.create(slice=slice_, annotator=users[author], purpose=Assignment.Purpose.MAIN)
    save_human_mask(
        slice_id=slice_.pk,
        user=users[author],
        png=png(painted_of(slice_)),
        base_revision_id=pre.pk,
        meta={"edit_seconds": 30},
    )
    submit(slice_.pk)
    return Slice.objects.get(pk=slice_.pk)
