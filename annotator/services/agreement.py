"""Label quality: blind double annotation, gold-standard slices and per-class IoU between them.

Double annotation: a second annotator gets an Assignment(purpose="double") and paints on the
"double" track (heads per author), never seeing the main mask. Gold standard: a supervisor stores a
gold-track revision marked `meta["gold_reference"] = True`; annotators sent the slice as
Assignment(purpose="gold") paint their own gold-track attempt, which is compared with the reference.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from annotator.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from annotator.models import Assignment, MaskRevision, Project, Slice, SliceState
from annotator.models.review import MaskComparison
from annotator.services import access
from annotator.services.ids import as_db_id
from annotator.services.maskcodec import decode_mask
from annotator.services.masks import build_revision, revision_labels
from annotator.users import User, Viewer
from mlcore.metrics import confusion_matrix, iou_per_class

GOLD_REFERENCE = "gold_reference"


def _annotator(value: Any) -> Any:
    User = get_user_model()
    user = None
    user_id = as_db_id(value)
    if user_id is not None:
        user = User.objects.filter(pk=user_id).first()
    elif isinstance(value, str) and value:
        user = User.objects.filter(username=value).first()
    if user is None:
        raise InvalidInput(f"annotator {value!r} does not exist (give a user id or username)")
    if not access.is_annotator(user):
        raise InvalidInput(f"{user.username} is not an annotator")
    return user


def main_annotator_ids(slice_: Slice) -> set[int]:
    """Users who did (or hold) the main annotation of a slice."""
    ids = set(
        Assignment.objects.filter(slice=slice_, purpose=Assignment.Purpose.MAIN, active=True).values_list(
            "annotator_id", flat=True
        )
    )
    ids |= {
        a
        for a in MaskRevision.objects.filter(slice=slice_, track=MaskRevision.Track.MAIN).values_list(
            "author_id", flat=True
        )
        if a is not None
    }
    return ids


def _require_member(user: Viewer, projects: list[Project]) -> None:
    """Blind second or gold annotation only goes to annotators of the slices' project."""
    for project in {p.pk: p for p in projects}.values():
        if not access.annotates_in(user, project):
            raise InvalidInput(f"{user.username} is not an annotator of project {project.slug!r}")


def _require_supervisor(user: Viewer) -> None:
    if not access.can_review(user):
        raise Forbidden("only supervisors and admins may hand out double or gold annotation")


def do_send_for_double(
    *,
    by: Any,
    annotator: Any,
    project: Project,
    share: Any = None,
    slices: Any = None,
    series: Any = None,
    seed: int = 0,
) -> dict[str, list[int]]:
    """Assign a seeded-random `share` of the project's annotated slices (or the chosen `slices`) to a
    second annotator for blind double annotation. Returns {"assigned": [...], "skipped": [...]}."""
    _require_supervisor(by)
    second = _annotator(annotator)
    _require_member(second, [project])
    if (share is None) == (slices is None):
        raise InvalidInput("give either share (0 < share <= 1) or slices (a list of slice ids)")
    base = Slice.objects.filter(series__session__subject__project=project)
    if slices is not None:
        if not isinstance(slices, list) or not all(isinstance(s, int) for s in slices) or not slices:
            raise InvalidInput("slices must be a non-empty list of slice ids")
        found = {s.pk: s for s in base.filter(pk__in=slices)}
        missing = sorted(set(slices) - set(found))
        if missing:
            raise NotFound(f"slices {missing} do not exist in project {project.slug}")
        for s in found.values():
            if second.pk in main_annotator_ids(s):
                raise InvalidInput(
                    f"{second.username} did the main annotation of slice {s.pk}: choose someone else"
                )
        chosen = [found[i] for i in slices]
    else:
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise InvalidInput(f"share must be a number in (0, 1], got {share!r}")
        if series is not None:
            base = base.filter(series_id=series)
        candidates = [
            s
            for s in base.exclude(state__in=[SliceState.UNLABELLED, SliceState.PRELABELLED]).order_by("id")
            if second.pk not in main_annotator_ids(s)
        ]
        count = max(1, round(share * len(candidates))) if candidates else 0
        chosen = sorted(random.Random(seed).sample(candidates, count), key=lambda s: s.pk)
    return _assign(chosen, second, by, Assignment.Purpose.DOUBLE)


def _assign(chosen: list[Slice], user: User, by: Any, purpose: str) -> dict[str, list[int]]:
    assigned: list[int] = []
    skipped: list[int] = []
    for s in chosen:
        try:
            with transaction.atomic():
                Assignment.objects.create(slice=s, annotator=user, assigned_by=by, purpose=purpose)
            assigned.append(s.pk)
        except IntegrityError:  # already holds an active assignment of this purpose
            skipped.append(s.pk)
    return {"assigned": assigned, "skipped": skipped}


def gold_reference(slice_: Slice) -> MaskRevision | None:
    return (
        MaskRevision.objects.filter(slice=slice_, track=MaskRevision.Track.GOLD, meta__gold_reference=True)
        .order_by("-id")
        .first()
    )


def do_mark_gold(*, slice_id: int, by: Any, png: bytes | None) -> MaskRevision:
    """Store the supervisor's gold-standard mask: the given PNG, or (png None) the accepted head."""
    _require_supervisor(by)
    with transaction.atomic():
        slice_ = Slice.objects.select_for_update().filter(pk=slice_id).first()
        if slice_ is None:
            raise NotFound(f"slice {slice_id} does not exist")
        if png is None:
            if slice_.state != SliceState.ACCEPTED or slice_.head_revision is None:
                raise InvalidTransition(
                    f"slice {slice_id} is {slice_.state}: only an accepted head can become gold; "
                    "upload a PNG mask instead",
                    state=slice_.state,
                )
            labels = revision_labels(slice_.head_revision)
            meta = {GOLD_REFERENCE: True, "from_revision": slice_.head_revision.pk}
        else:
            labels = decode_mask(png)
            meta = {GOLD_REFERENCE: True}
        return build_revision(
            slice_,
            labels,
            source=MaskRevision.Source.HUMAN,
            author=by,
            parent=gold_reference(slice_),
            track=MaskRevision.Track.GOLD,
            meta=meta,
        )


def do_send_gold(*, by: Any, annotators: Any, slices: Any) -> dict[str, list[int]]:
    """Send gold slices to annotators as purpose="gold" assignments (blind: they paint their own)."""
    _require_supervisor(by)
    if not isinstance(annotators, list) or not annotators:
        raise InvalidInput("annotators must be a non-empty list of user ids or usernames")
    if not isinstance(slices, list) or not slices or not all(isinstance(s, int) for s in slices):
        raise InvalidInput("slices must be a non-empty list of slice ids")
    found = {s.pk: s for s in Slice.objects.filter(pk__in=slices)}
    for sid in slices:
        if sid not in found:
            raise NotFound(f"slice {sid} does not exist")
        if gold_reference(found[sid]) is None:
            raise InvalidInput(f"slice {sid} has no gold mask yet: mark it gold first")
    result: dict[str, list[int]] = {"assigned": [], "skipped": []}
    for raw in annotators:
        user = _annotator(raw)
        _require_member(user, [s.series.session.subject.project for s in found.values()])
        eligible = [found[s] for s in slices if user.pk not in main_annotator_ids(found[s])]
        done = _assign(eligible, user, by, Assignment.Purpose.GOLD)
        result["assigned"] += done["assigned"]
        result["skipped"] += done["skipped"] + [s for s in slices if found[s] not in eligible]
    return result


@dataclass
class Comparison:
    """One pair of masks of a slice: `a` is the reference (main or gold), `b` the other annotator."""

    kind: str  # "double" | "gold"
    slice_id: int
    a_author: int | None
    b_author: int | None
    confusion: np.ndarray  # (K, K)
    iou: list[float | None] = field(default_factory=list)


def _confusions(pairs: list[tuple[MaskRevision, MaskRevision]], k: int) -> list[np.ndarray]:
    """(K, K) confusion of each (reference, other) pair: stored ones read back, the others computed
    from the masks once and stored (MaskComparison)."""
    stored = {
        (row.reference_id, row.other_id): row
        for row in MaskComparison.objects.filter(
            reference__in={a.pk for a, _ in pairs}, other__in={b.pk for _, b in pairs}
        )
    }
    out = []
    for a, b in pairs:
        row = stored.get((a.pk, b.pk))
        cm = np.asarray(row.confusion, np.int64) if row is not None else None
        if cm is None or cm.shape != (k, k):  # new pair, or classes appended since
            la, lb = revision_labels(a), revision_labels(b)
            cm = confusion_matrix(lb, la, k) if la.shape == lb.shape else np.zeros((k, k), np.int64)
            MaskComparison.objects.update_or_create(
                reference=a, other=b, defaults={"confusion": cm.astype(int).tolist()}
            )
        out.append(cm)
    return out


def comparisons(project: Project) -> list[Comparison]:
    """Every double-vs-main pair and every gold-vs-reference pair of the project (latest per author).

    Reads only the project's double/gold revisions and their slices: the cost follows the number of
    second annotations, not the size of the dataset."""
    k = project.classes.count()
    out: list[Comparison] = []
    # Second annotations only (a partial index on track keeps this independent of the main track).
    second = list(
        MaskRevision.objects.exclude(track=MaskRevision.Track.MAIN).filter(is_conflict=False).defer("png")
    )
    mine = set(
        Slice.objects.filter(
            pk__in={r.slice_id for r in second}, series__session__subject__project=project
        ).values_list("pk", flat=True)
    )
    latest: dict[tuple[int, str, int | None], MaskRevision] = {}
    references: dict[int, MaskRevision] = {}  # slice id -> newest gold reference
    for rev in sorted((r for r in second if r.slice_id in mine), key=lambda r: r.pk):
        if rev.track == MaskRevision.Track.GOLD and rev.meta.get(GOLD_REFERENCE):
            references[rev.slice_id] = rev
            continue
        latest[(rev.slice_id, rev.track, rev.author_id)] = rev
    wanted = {slice_id for slice_id, _, _ in latest} | set(references)
    by_slice = Slice.objects.select_related("head_revision").in_bulk(wanted)
    pairs: list[tuple[str, MaskRevision, MaskRevision]] = []
    for (slice_id, track, _), rev in sorted(latest.items(), key=lambda kv: kv[1].pk):
        s = by_slice[slice_id]
        if track == MaskRevision.Track.DOUBLE and s.head_revision is not None:
            pairs.append(("double", s.head_revision, rev))
        elif track == MaskRevision.Track.GOLD and (ref := references.get(slice_id)) is not None:
            pairs.append(("gold", ref, rev))
    for slice_id in sorted(references):  # the main annotation of a gold slice is also checked against gold
        ref, head = references[slice_id], by_slice[slice_id].head_revision
        if (
            head is not None
            and head.source == MaskRevision.Source.HUMAN
            and head.author_id not in (None, ref.author_id)
            and ref.meta.get("from_revision") != head.pk  # a gold copied from this head proves nothing
        ):
            pairs.append(("gold", ref, head))
    confusions = _confusions([(a, b) for _, a, b in pairs], k)
    for (kind, a, b), cm in zip(pairs, confusions, strict=True):
        iou = [None if np.isnan(v) else round(float(v), 4) for v in iou_per_class(cm)]
        out.append(Comparison(kind, a.slice_id, a.author_id, b.author_id, cm, iou))
    return out


def summarise(items: list[Comparison], k: int) -> dict[str, Any]:
    """Pooled per-class IoU over the items (sum of confusions) and the mean over foreground classes."""
    if not items:
        return {"pairs": 0, "iou_per_class": [None] * k, "mean_iou": None}
    cm = np.sum([c.confusion for c in items], axis=0)
    iou = iou_per_class(cm)
    fg = iou[1:]
    mean = None if np.all(np.isnan(fg)) else round(float(np.nanmean(fg)), 4)
    return {
        "pairs": len(items),
        "iou_per_class": [None if np.isnan(v) else round(float(v), 4) for v in iou],
        "mean_iou": mean,
    }


def agreement_report(project: Project) -> dict[str, Any]:
    k = project.classes.count()
    items = comparisons(project)
    names = {u.pk: u.username for u in get_user_model().objects.all()}
    return {
        "project": project.pk,
        "classes": project.class_names(),
        "double": summarise([c for c in items if c.kind == "double"], k),
        "gold": summarise([c for c in items if c.kind == "gold"], k),
        "items": [
            {
                "kind": c.kind,
                "slice": c.slice_id,
                "reference_author": names.get(c.a_author) if c.a_author else None,
                "annotator": names.get(c.b_author) if c.b_author else None,
                "iou_per_class": c.iou,
                "mean_iou": summarise([c], k)["mean_iou"],
            }
            for c in items
        ],
    }
