"""Correction effort: how much of a pre-label annotators changed, and how long they worked per slice.

For every slice whose main-track head is human work, the chain of parents is followed back to the
model revision the annotator started from; the head's labels are compared to it pixel by pixel. The
results are grouped by the model version (and so the round) that made the pre-label; slices drawn
from scratch form their own group so the two can be compared.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from annotator.models import MaskRevision, ModelVersion, Project, Slice
from annotator.services.edit_time import stored_edit_seconds
from annotator.services.masks import revision_labels


def _origin(head: MaskRevision, by_id: dict[int, MaskRevision]) -> tuple[MaskRevision | None, float]:
    """(model revision the human chain started from or None, summed edit seconds of the chain)."""
    seconds = 0.0
    node: MaskRevision | None = head
    while node is not None and node.source == MaskRevision.Source.HUMAN:
        seconds += stored_edit_seconds(node.meta) or 0.0
        node = by_id.get(node.parent_id) if node.parent_id else None
    if node is not None and node.source == MaskRevision.Source.MODEL:
        return node, seconds
    return None, seconds


def correction_effort(project: Project) -> list[dict[str, Any]]:
    """One row per pre-label source: {version, label, round, slices, changed_share, per_class
    [{name, changed_share, pixels}], edit_seconds_per_slice, slices_timed}. changed_share = changed
    pixels / all pixels; per class: share of the pre-label's pixels of that class that were changed."""
    class_names = project.class_names()
    k = len(class_names)
    heads = Slice.objects.filter(
        series__session__subject__project=project, head_revision__source=MaskRevision.Source.HUMAN
    ).values_list("head_revision_id", flat=True)
    slice_ids = Slice.objects.filter(head_revision_id__in=list(heads)).values_list("pk", flat=True)
    revisions = MaskRevision.objects.filter(slice_id__in=list(slice_ids), track=MaskRevision.Track.MAIN)
    by_id = {r.pk: r for r in revisions}
    groups: dict[Any, dict[str, Any]] = defaultdict(
        lambda: {
            "slices": 0,
            "changed": 0,
            "pixels": 0,
            "class_changed": np.zeros(k, np.int64),
            "class_pixels": np.zeros(k, np.int64),
            "seconds": 0.0,
            "timed": 0,
        }
    )
    for head_id in heads:
        head = by_id.get(head_id)
        if head is None:
            continue
        origin, seconds = _origin(head, by_id)
        key = origin.meta.get("model_version") if origin is not None else None
        group = groups[key]
        group["slices"] += 1
        if seconds > 0:
            group["seconds"] += seconds
            group["timed"] += 1
        if origin is None:
            continue
        human, model = revision_labels(head), revision_labels(origin)  # (H, W) each
        changed = human != model
        group["changed"] += int(changed.sum())
        group["pixels"] += int(changed.size)
        group["class_changed"] += np.bincount(model[changed].ravel(), minlength=k)[:k]
        group["class_pixels"] += np.bincount(model.ravel(), minlength=k)[:k]
    versions = {v.pk: v for v in ModelVersion.objects.filter(pk__in=[g for g in groups if g is not None])}
    rows = []
    for key, g in groups.items():
        version = versions.get(key) if key is not None else None
        rows.append(
            {
                "version": key,
                "label": version.label if version else ("from scratch" if key is None else f"model {key}"),
                "round": version.training_round.number if version and version.training_round else None,
                "slices": g["slices"],
                "changed_share": g["changed"] / g["pixels"] if g["pixels"] else None,
                "per_class": [
                    {
                        "name": name,
                        "pixels": int(g["class_pixels"][c]),
                        "changed_share": float(g["class_changed"][c] / g["class_pixels"][c])
                        if g["class_pixels"][c]
                        else None,
                    }
                    for c, name in enumerate(class_names)
                ],
                "edit_seconds_per_slice": g["seconds"] / g["timed"] if g["timed"] else None,
                "slices_timed": g["timed"],
            }
        )
    rows.sort(key=lambda r: (r["round"] is None and r["version"] is None, r["round"] or 0, r["version"] or 0))
    return rows
