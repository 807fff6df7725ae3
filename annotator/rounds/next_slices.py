"""The ranking as people read it: the project's next slices in rank order, one page at a time, and a
small colour thumbnail of a slice's pre-label.

`Slice.rank` / `rank_score` are written per project by the latest pre-labelling pass
(rounds.ranking.write_ranks), so a round's ranking page shows its project's current ranking. A page
costs the same whatever the number of ranked slices: a count, the page's slices (indexed by rank,
without mask bytes) and their active main assignments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annotator.errors import InvalidInput, NotFound
from annotator.models import Assignment, Job, ModelVersion, Project, Slice
from annotator.services.maskcodec import decode_mask, encode_mask

PAGE_SIZE = 50
THUMBNAIL_SIZE = 64  # longest side, pixels
THUMBNAIL_LIMITS = (16, 256)


def ranked_slices(project: Project) -> Any:
    return Slice.objects.filter(series__session__subject__project=project, rank__isnull=False)


def page_number(raw: str | None, num_pages: int) -> int:
    """`?page=` as a page number: absent -> 1; past the end -> the last page; not a whole number >= 1
    -> a 400 naming the parameter."""
    if raw is None or raw == "":
        return 1
    try:
        number = int(raw)
    except ValueError:
        raise InvalidInput(f"page must be a whole number from 1, got {raw[:20]!r}", field="page") from None
    if number < 1:
        raise InvalidInput(f"page must be a whole number from 1, got {number}", field="page")
    return min(number, max(1, num_pages))


def ranking_strategy(project: Project) -> str | None:
    """The strategy of the pre-labelling pass that wrote the current ranks (the project's latest
    succeeded one), or None before any."""
    versions = list(ModelVersion.objects.filter(project=project).values_list("pk", flat=True))
    if not versions:
        return None
    job = (
        Job.objects.filter(kind=Job.Kind.PRELABEL, state=Job.State.SUCCEEDED, params__version__in=versions)
        .order_by("-finished_at", "-pk")
        .only("params", "result")
        .first()
    )
    if job is None:
        return None
    return str(job.result.get("strategy") or job.params.get("strategy") or "entropy")


def ranking_page(project: Project, raw_page: str | None) -> dict[str, Any]:
    """One page (PAGE_SIZE rows) of the project's ranked slices, rank 1 first."""
    ranked = ranked_slices(project)
    count = ranked.count()
    num_pages = max(1, -(-count // PAGE_SIZE))
    page = page_number(raw_page, num_pages)
    start = (page - 1) * PAGE_SIZE
    rows = list(
        ranked.order_by("rank", "pk")
        .select_related("series__session__subject")
        .only(
            "rank",
            "rank_score",
            "index",
            "state",
            "prelabel_revision_id",
            "series__modality",
            "series__view",
            "series__session__label",
            "series__session__subject__label",
        )[start : start + PAGE_SIZE]
    )
    assignees = dict(
        Assignment.objects.filter(
            slice__in=[s.pk for s in rows], purpose=Assignment.Purpose.MAIN, active=True
        ).values_list("slice_id", "annotator__username")
    )
    return {
        "project": project.slug,
        "strategy": ranking_strategy(project),
        "count": count,
        "page": page,
        "num_pages": num_pages,
        "page_size": PAGE_SIZE,
        "previous": page - 1 if page > 1 else None,
        "next": page + 1 if page < num_pages else None,
        "results": [ranked_row(s, assignees.get(s.pk)) for s in rows],
    }


def ranked_row(slice_: Slice, assignee: str | None) -> dict[str, Any]:
    series = slice_.series
    has_prelabel = slice_.prelabel_revision_id is not None
    return {
        "rank": slice_.rank,
        "score": slice_.rank_score,
        "slice": slice_.pk,
        "subject": series.session.subject.label,
        "session": series.session.label,
        "series": series.pk,
        "modality": series.modality,
        "index": slice_.index,
        "state": slice_.state,
        "assignee": assignee,
        "has_prelabel": has_prelabel,
        "editor_url": f"/slices/{slice_.pk}/edit/",
        "thumbnail_url": f"/api/slices/{slice_.pk}/prelabel-thumbnail/" if has_prelabel else None,
    }


def thumbnail_size(raw: str | None) -> int:
    """`?size=` (longest side in pixels), default THUMBNAIL_SIZE; outside THUMBNAIL_LIMITS -> 400."""
    if raw is None or raw == "":
        return THUMBNAIL_SIZE
    low, high = THUMBNAIL_LIMITS
    try:
        size = int(raw)
    except ValueError:
        size = -1
    if not low <= size <= high:
        raise InvalidInput(
            f"size must be a whole number from {low} to {high}, got {raw[:20]!r}", field="size"
        )
    return size


def prelabel_thumbnail(slice_: Slice, size: int = THUMBNAIL_SIZE) -> bytes:
    """The slice's pre-label as an indexed PNG whose longest side is at most `size` pixels (nearest
    neighbour, so every pixel keeps a class), coloured by the project's class colours."""
    revision = slice_.prelabel_revision
    if revision is None:
        raise NotFound(f"slice {slice_.pk} has no pre-label")
    labels = decode_mask(bytes(revision.png))  # (H, W)
    height, width = labels.shape
    scale = min(1.0, size / max(height, width))
    rows = np.minimum((np.arange(max(1, round(height * scale))) / scale).astype(int), height - 1)
    cols = np.minimum((np.arange(max(1, round(width * scale))) / scale).astype(int), width - 1)
    small = labels[np.ix_(rows, cols)]  # (h, w), h, w <= size
    colours = list(slice_.project.classes.order_by("index").values_list("colour", flat=True))
    return encode_mask(small, colours)
