"""Per-annotator quality statistics: throughput, acceptance, time, agreement, pre-label edits.

Built from grouped database queries and figures each revision stores once at save
(`MaskRevision.edit_seconds`, `MaskRevision.prelabel_change`), so a view never re-reads every mask of
the project; only the double/gold comparisons decode masks (services.agreement).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, Max, OuterRef, Q, Sum

from annotator.models import MaskRevision, Project, ReviewDecision, Slice, SliceState
from annotator.services.agreement import comparisons, summarise
from annotator.services.masks import model_ancestor, prelabel_change, revision_labels

IN_PROJECT = "slice__series__session__subject__project"


def _human_main(project: Project) -> Any:
    return MaskRevision.objects.filter(
        **{IN_PROJECT: project}, source=MaskRevision.Source.HUMAN, track=MaskRevision.Track.MAIN
    )


def _latest_per_author_and_slice(project: Project) -> Any:
    """Each author's newest non-conflict human main revision of each slice they worked on."""
    newer = MaskRevision.objects.filter(
        slice=OuterRef("slice"),
        author=OuterRef("author"),
        source=MaskRevision.Source.HUMAN,
        track=MaskRevision.Track.MAIN,
        is_conflict=False,
        pk__gt=OuterRef("pk"),
    )
    return _human_main(project).filter(is_conflict=False).exclude(Exists(newer))


def _fill_prelabel_changes(project: Project, k: int) -> None:
    """Compute, once, the pre-label change of revisions stored before it was kept at save."""
    missing = _latest_per_author_and_slice(project).filter(prelabel_change__isnull=True)
    for rev in missing.select_related("parent").iterator():
        rev.prelabel_change = prelabel_change(revision_labels(rev), model_ancestor(rev.parent), k)
        rev.save(update_fields=["prelabel_change"])


def _prelabel_sums(project: Project, k: int) -> dict[int, tuple[int, np.ndarray, np.ndarray]]:
    """{author: (slices from a pre-label, pixels changed per class, pre-label pixels per class)}."""
    _fill_prelabel_changes(project, k)
    sums: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}
    rows = (
        _latest_per_author_and_slice(project)
        .filter(author__isnull=False, prelabel_change__has_key="total")
        .values_list("author_id", "prelabel_change")
    )
    for author, change in rows.iterator():
        count, changed, total = sums.get(author, (0, np.zeros(k, np.int64), np.zeros(k, np.int64)))
        sums[author] = (
            count + 1,
            changed + np.asarray(change["changed"][:k]),
            total + np.asarray(change["total"][:k]),
        )
    return sums


def _submitted_slices(project: Project) -> dict[int, int]:
    """{author: slices of theirs that were reviewed, or wait for review / are accepted with their
    head}: one UNION (which drops repeats) over the project's decisions and submitted heads."""
    decided = (
        ReviewDecision.objects.filter(**{IN_PROJECT: project}, revision__author__isnull=False)
        .order_by()
        .values_list("revision__author", "slice_id")
    )
    heads = (
        Slice.objects.filter(
            series__session__subject__project=project,
            state__in=[SliceState.SUBMITTED, SliceState.ACCEPTED],
            head_revision__author__isnull=False,
        )
        .order_by()
        .values_list("head_revision__author", "pk")
    )
    sql, params = decided.union(heads).query.sql_with_params()
    with connection.cursor() as cursor:  # counted in the database: no row per slice comes back
        cursor.execute(
            f'SELECT "revision__author", COUNT(*) FROM ({sql}) AS mine GROUP BY "revision__author"', params
        )
        return {author: n for author, n in cursor.fetchall()}


def inputs_version(project: Project) -> str:
    """Changes whenever an input of the statistics may have: a new revision or decision anywhere, a
    slice changed (state, head), the project's classes. Each part is an index lookup, never a scan."""
    revision = MaskRevision.objects.aggregate(v=Max("pk"))["v"]
    decision = ReviewDecision.objects.aggregate(v=Max("pk"))["v"]
    latest = Slice.objects.aggregate(v=Max("updated_at"))["v"]
    changed = latest.timestamp() if latest is not None else None
    classes = "\n".join(project.classes.order_by("index").values_list("name", flat=True))
    schema = hashlib.sha256(classes.encode()).hexdigest()[:16]
    return f"annotator-stats:{project.pk}:{revision}:{decision}:{changed}:{schema}"


def annotator_stats(project: Project) -> dict[str, Any]:
    """The statistics of `project`, computed once per change of their inputs (`inputs_version`) and
    kept in the cache until then."""
    key = inputs_version(project)
    found = cache.get(key)
    if found is None:
        found = compute_annotator_stats(project)
        cache.set(key, found, timeout=3600)
    return found


def compute_annotator_stats(project: Project) -> dict[str, Any]:
    """{"classes": [...], "annotators": [{username, slices_submitted, reviewed, accepted, rejected,
    acceptance_rate, mean_seconds_per_slice, agreement_double, agreement_gold (mean IoU, foreground),
    agreement_double_per_class, agreement_gold_per_class, prelabel_changed_share,
    prelabel_changed_per_class}]}; null where there is nothing to measure."""
    k = project.classes.count()
    authors = set(
        _human_main(project).filter(author__isnull=False).values_list("author_id", flat=True).distinct()
    )
    reviews = {
        row["revision__author"]: row
        for row in ReviewDecision.objects.filter(**{IN_PROJECT: project})
        .values("revision__author")
        .annotate(
            reviewed=Count("id"), accepted=Count("id", filter=Q(decision=ReviewDecision.Decision.ACCEPT))
        )
    }
    timed = {
        row["author"]: row
        for row in _human_main(project)
        .filter(edit_seconds__isnull=False)
        .values("author")
        .annotate(seconds=Sum("edit_seconds"), slices=Count("slice", distinct=True))
    }
    prelabel = _prelabel_sums(project, k)
    submitted = _submitted_slices(project)
    items = comparisons(project)
    everyone = sorted(authors | {c.b_author for c in items if c.b_author})
    users = get_user_model().objects.in_bulk(everyone)
    rows = []
    for uid in everyone:
        review = reviews.get(uid, {"reviewed": 0, "accepted": 0})
        reviewed, accepted = review["reviewed"], review["accepted"]
        time_row = timed.get(uid)
        from_prelabel, changed, total = prelabel.get(uid, (0, np.zeros(k, np.int64), np.zeros(k, np.int64)))
        double = [c for c in items if c.kind == "double" and uid in (c.a_author, c.b_author)]
        gold = [c for c in items if c.kind == "gold" and c.b_author == uid]
        double_summary, gold_summary = summarise(double, k), summarise(gold, k)
        user = users.get(uid)
        rows.append(
            {
                "id": uid,
                "username": user.username if user else str(uid),
                "slices_submitted": submitted.get(uid, 0),
                "reviewed": reviewed,
                "accepted": accepted,
                "rejected": reviewed - accepted,
                "acceptance_rate": round(accepted / reviewed, 4) if reviewed else None,
                "mean_seconds_per_slice": round(time_row["seconds"] / time_row["slices"], 1)
                if time_row and time_row["slices"]
                else None,
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
