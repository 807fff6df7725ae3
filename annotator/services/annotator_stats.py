"""Per-annotator quality statistics: throughput, acceptance, time, agreement, pre-label edits."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model

from annotator.models import MaskRevision, Project, ReviewDecision, Slice, SliceState
from annotator.services.agreement import comparisons, summarise
from annotator.services.edit_time import stored_edit_seconds
from annotator.services.masks import revision_labels


def _model_ancestor(rev: MaskRevision, by_id: dict[int, MaskRevision]) -> MaskRevision | None:
    """Walk `parent` to the model revision this work started from."""
    seen: set[int] = set()
    cur: MaskRevision | None = rev
    while cur is not None and cur.pk not in seen:
        if cur.source == MaskRevision.Source.MODEL:
            return cur
        seen.add(cur.pk)
        cur = by_id.get(cur.parent_id) if cur.parent_id else None
    return None


def annotator_stats(project: Project) -> dict[str, Any]:
    """{"classes": [...], "annotators": [{username, slices_submitted, reviewed, accepted, rejected,
    acceptance_rate, mean_seconds_per_slice, agreement_double, agreement_gold (mean IoU, foreground),
    agreement_double_per_class, agreement_gold_per_class, prelabel_changed_share,
    prelabel_changed_per_class}]}; null where there is nothing to measure."""
    k = project.classes.count()
    slices = Slice.objects.filter(series__session__subject__project=project)
    revs = list(MaskRevision.objects.filter(slice__in=slices).defer("png").order_by("id"))
    by_id = {r.pk: r for r in revs}
    human_main = [
        r for r in revs if r.source == MaskRevision.Source.HUMAN and r.track == MaskRevision.Track.MAIN
    ]
    authors = sorted({r.author_id for r in human_main if r.author_id is not None})
    decisions = list(ReviewDecision.objects.filter(slice__in=slices).select_related("revision"))
    submitted_heads = dict(
        slices.filter(state__in=[SliceState.SUBMITTED, SliceState.ACCEPTED]).values_list(
            "pk", "head_revision_id"
        )
    )
    items = comparisons(project)
    users = get_user_model().objects.in_bulk(authors + [c.b_author for c in items if c.b_author])
    rows = []
    for uid in sorted(set(authors) | {c.b_author for c in items if c.b_author}):
        mine = [d for d in decisions if d.revision.author_id == uid]
        accepted = sum(d.decision == ReviewDecision.Decision.ACCEPT for d in mine)
        done = {d.slice_id for d in mine} | {
            sid for sid, head in submitted_heads.items() if head in by_id and by_id[head].author_id == uid
        }
        seconds: dict[int, float] = defaultdict(float)
        latest: dict[int, MaskRevision] = {}
        for r in human_main:
            if r.author_id != uid:
                continue
            value = stored_edit_seconds(r.meta)
            if value is not None:
                seconds[r.slice_id] += value
            if not r.is_conflict:
                latest[r.slice_id] = r
        changed, total = np.zeros(k, np.int64), np.zeros(k, np.int64)
        from_prelabel = 0
        for rev in latest.values():
            start = _model_ancestor(rev, by_id)
            if start is None:
                continue
            # Only now fetch the PNGs (deferred above): (H, W) uint8 each.
            after = revision_labels(MaskRevision.objects.get(pk=rev.pk))
            before = revision_labels(MaskRevision.objects.get(pk=start.pk))
            if after.shape != before.shape:
                continue
            from_prelabel += 1
            total += np.bincount(before.ravel(), minlength=k)[:k]
            changed += np.bincount(before[after != before].ravel(), minlength=k)[:k]
        double = [c for c in items if c.kind == "double" and uid in (c.a_author, c.b_author)]
        gold = [c for c in items if c.kind == "gold" and c.b_author == uid]
        double_summary, gold_summary = summarise(double, k), summarise(gold, k)
        user = users.get(uid)
        rows.append(
            {
                "id": uid,
                "username": user.username if user else str(uid),
                "slices_submitted": len(done),
                "reviewed": len(mine),
                "accepted": accepted,
                "rejected": len(mine) - accepted,
                "acceptance_rate": round(accepted / len(mine), 4) if mine else None,
                "mean_seconds_per_slice": round(sum(seconds.values()) / len(seconds), 1) if seconds else None,
                "agreement_double": double_summary["mean_iou"],
                "agreement_double_per_class": double_summary["iou_per_class"],
                "agreement_gold": gold_summary["mean_iou"],
                "agreement_gold_per_class": gold_summary["iou_per_class"],
                "prelabel_slices": from_prelabel,
                "prelabel_changed_share": round(float(changed.sum() / total.sum()), 4)
                if total.sum()
                else None,
                "prelabel_changed_per_class": [
                    round(float(c / t), 4) if t else None for c, t in zip(changed, total, strict=True)
                ],
            }
        )
    return {"project": project.pk, "classes": project.class_names(), "annotators": rows}
