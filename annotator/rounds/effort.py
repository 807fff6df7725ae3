"""Correction effort: how much of a pre-label annotators changed, and how long they worked per slice.

For every slice whose main-track head is human work, the chain of parents is followed back to the
model revision the annotator started from; the head's labels are compared to it pixel by pixel. The
results are grouped by the model version (and so the round) that made the pre-label; slices drawn
from scratch form their own group so the two can be compared.

The figures are computed when a slice's head changes (`refresh_slice`, from the Slice post_save
receiver in annotator/signals.py), kept per slice (SliceEffort) and summed per project, source and
class (EffortTally), so the dashboard reads a few rows however many slices the project has.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import F

from annotator.models import EffortTally, MaskRevision, ModelVersion, Project, Slice, SliceEffort
from annotator.services.edit_time import stored_edit_seconds
from annotator.services.masks import revision_labels

WHOLE_SLICE = -1  # EffortTally.class_index of the whole-slice sums
SCRATCH = 0  # source of slices drawn from scratch


def _origin(head: MaskRevision) -> tuple[MaskRevision | None, float]:
    """(model revision the human chain started from or None, summed edit seconds of the chain). The
    slice's main-track revisions are read in one query, without their PNGs."""
    by_id = {
        r.pk: r
        for r in MaskRevision.objects.filter(slice_id=head.slice_id, track=MaskRevision.Track.MAIN).only(
            "id", "parent_id", "source", "meta"
        )
    }
    seconds = 0.0
    node: MaskRevision | None = head
    while node is not None and node.source == MaskRevision.Source.HUMAN:
        seconds += stored_edit_seconds(node.meta) or 0.0
        node = by_id.get(node.parent_id) if node.parent_id else None
    if node is not None and node.source == MaskRevision.Source.MODEL:
        return node, seconds
    return None, seconds


@dataclass
class Contribution:
    """One slice's part of its source's sums (pixel counts are zero when drawn from scratch)."""

    source: int
    edit_ms: int
    changed: int
    pixels: int
    class_changed: list[int]
    class_pixels: list[int]

    @classmethod
    def of(cls, row: SliceEffort) -> Contribution:
        return cls(row.source, row.edit_ms, row.changed, row.pixels, row.class_changed, row.class_pixels)


def contribution(slice_: Slice, k: int) -> Contribution | None:
    """The effort figures of one slice, or None when its main-track head is not human work. Decodes
    the head and the pre-label it started from (the only place the PNGs are read)."""
    head = slice_.head_revision
    if head is None or head.source != MaskRevision.Source.HUMAN or head.track != MaskRevision.Track.MAIN:
        return None
    origin, seconds = _origin(head)
    edit_ms = round(seconds * 1000)
    if origin is None:
        return Contribution(SCRATCH, edit_ms, 0, 0, [0] * k, [0] * k)
    human, model = revision_labels(head), revision_labels(origin)  # (H, W) each
    changed = human != model
    return Contribution(
        source=int(origin.meta.get("model_version") or SCRATCH),
        edit_ms=edit_ms,
        changed=int(changed.sum()),
        pixels=int(changed.size),
        class_changed=[int(v) for v in np.bincount(model[changed].ravel(), minlength=k)[:k]],
        class_pixels=[int(v) for v in np.bincount(model.ravel(), minlength=k)[:k]],
    )


def _add(project_id: int, part: Contribution, sign: int) -> None:
    """Add (sign 1) or remove (sign -1) one slice's part to its source's tallies, as single UPDATEs
    (no read-modify-write, so concurrent saves of different slices never lose a count)."""
    rows: dict[int, dict[str, Any]] = {
        WHOLE_SLICE: {
            "slices": sign,
            "timed": sign if part.edit_ms > 0 else 0,
            "edit_ms": sign * part.edit_ms,
            "changed": sign * part.changed,
            "pixels": sign * part.pixels,
        }
    }
    for c, (changed, pixels) in enumerate(zip(part.class_changed, part.class_pixels, strict=False)):
        if changed or pixels:
            rows[c] = {"changed": sign * changed, "pixels": sign * pixels}
    for class_index, deltas in rows.items():
        EffortTally.objects.get_or_create(project_id=project_id, source=part.source, class_index=class_index)
        EffortTally.objects.filter(project_id=project_id, source=part.source, class_index=class_index).update(
            **{name: F(name) + delta for name, delta in deltas.items()}
        )


def refresh_slice(slice_id: int) -> None:
    """Bring one slice's effort figures up to date after its main-track head changed."""
    with transaction.atomic():
        slice_ = (
            Slice.objects.select_related("head_revision", "series__session__subject__project")
            .filter(pk=slice_id)
            .first()
        )
        if slice_ is None:
            return
        project = slice_.series.session.subject.project
        old = SliceEffort.objects.filter(slice_id=slice_id).first()
        new = contribution(slice_, len(project.class_names()))
        if old is not None:
            _add(old.project_id, Contribution.of(old), -1)
        if new is None:
            if old is not None:
                old.delete()
            return
        SliceEffort.objects.update_or_create(
            slice_id=slice_id,
            defaults={
                "project": project,
                "source": new.source,
                "edit_ms": new.edit_ms,
                "changed": new.changed,
                "pixels": new.pixels,
                "class_changed": new.class_changed,
                "class_pixels": new.class_pixels,
            },
        )
        _add(project.pk, new, 1)


def rebuild(project: Project) -> None:
    """Recompute a project's figures from its slices (after an upgrade, or to repair)."""
    with transaction.atomic():
        SliceEffort.objects.filter(project=project).delete()
        EffortTally.objects.filter(project=project).delete()
        heads = Slice.objects.filter(
            series__session__subject__project=project, head_revision__source=MaskRevision.Source.HUMAN
        ).values_list("pk", flat=True)
        for slice_id in heads:
            refresh_slice(slice_id)


def correction_effort(project: Project) -> list[dict[str, Any]]:
    """One row per pre-label source: {version, label, round, slices, changed_share, per_class
    [{name, changed_share, pixels}], edit_seconds_per_slice, slices_timed}. changed_share = changed
    pixels / all pixels; per class: share of the pre-label's pixels of that class that were changed.
    Reads the stored tallies only."""
    class_names = project.class_names()
    groups: dict[int, dict[int, EffortTally]] = defaultdict(dict)
    for tally in EffortTally.objects.filter(project=project):
        groups[tally.source][tally.class_index] = tally
    groups = {s: g for s, g in groups.items() if WHOLE_SLICE in g and g[WHOLE_SLICE].slices > 0}
    versions = {
        v.pk: v
        for v in ModelVersion.objects.filter(pk__in=[s for s in groups if s != SCRATCH]).select_related(
            "training_round"
        )
    }
    rows = []
    for source, tallies in groups.items():
        whole = tallies[WHOLE_SLICE]
        key = None if source == SCRATCH else source
        version = versions.get(source)
        per_class = []
        for c, name in enumerate(class_names):
            found = tallies.get(c)
            pixels = found.pixels if found else 0
            per_class.append(
                {
                    "name": name,
                    "pixels": int(pixels),
                    "changed_share": float(found.changed / pixels) if found and pixels else None,
                }
            )
        rows.append(
            {
                "version": key,
                "label": version.label if version else ("from scratch" if key is None else f"model {key}"),
                "round": version.training_round.number if version and version.training_round else None,
                "slices": int(whole.slices),
                "changed_share": whole.changed / whole.pixels if whole.pixels else None,
                "per_class": per_class,
                "edit_seconds_per_slice": whole.edit_ms / 1000 / whole.timed if whole.timed else None,
                "slices_timed": int(whole.timed),
            }
        )
    rows.sort(key=lambda r: (r["round"] is None and r["version"] is None, r["round"] or 0, r["version"] or 0))
    return rows
