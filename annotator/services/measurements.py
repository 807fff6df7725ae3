"""Vertebral body measurements of stored masks (mlcore.measure), for the API, the report page and the
editor overlay. Read-only: nothing is stored, every answer is computed from the immutable revision.

Which mask: `head` (the main track's head revision) or `prelabel` (the newest model pre-label, marked
as such). Pixel spacing: `Series.spacing` is (plane, row, col) mm, so a slice's in-plane spacing is
(spacing[1], spacing[2]); series without a usable spacing (PNG imports) are measured at an assumed
1 mm and the answer says so.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import numpy as np
from django.db.models import QuerySet

from annotator.errors import Forbidden, InvalidInput, NotFound
from annotator.models import MaskRevision, Series, Slice
from annotator.services.access import can_view_main_mask
from annotator.services.masks import revision_labels
from annotator.users import Viewer
from mlcore.measure import MeasureClasses, measure_slice
from mlcore.measure.bodies import LEVELS_UP_FROM_SACRUM

WHICH = ("head", "prelabel")


def parse_which(raw: str | None) -> str:
    which = (raw or "head").strip()
    if which not in WHICH:
        raise InvalidInput(f"revision must be one of {list(WHICH)}, got {raw!r}")
    return which


def measure_classes(slice_: Slice) -> MeasureClasses:
    names = [c.name for c in slice_.project.classes.order_by("index")]
    try:
        return MeasureClasses.from_names(names)
    except ValueError as exc:
        raise InvalidInput(
            f"project {slice_.project.slug!r} cannot be measured: {exc}", classes=names
        ) from exc


def in_plane_spacing(series: Series) -> tuple[tuple[float, float], str | None]:
    """((row_mm, col_mm), None) or ((1.0, 1.0), why it was assumed)."""
    raw = series.spacing if isinstance(series.spacing, list) else []
    try:
        values = [float(v) for v in raw]
    except (TypeError, ValueError):
        values = []
    if series.source_format == Series.Format.PNG:
        return (1.0, 1.0), "PNG slices carry no pixel spacing: 1 mm assumed, millimetres are pixels"
    if len(values) == 3 and all(math.isfinite(v) and v > 0 for v in values[1:]):
        return (values[1], values[2]), None
    return (1.0, 1.0), f"the series has no usable spacing ({raw!r}): 1 mm assumed"


def find_revision(user: Viewer, slice_: Slice, which: str) -> MaskRevision:
    revision = slice_.head_revision if which == "head" else slice_.prelabel_revision
    if revision is None:
        raise NotFound(f"slice {slice_.pk} has no {which} mask to measure")
    # Blind double/gold annotation: the main track stays hidden from the second annotator.
    if revision.source != MaskRevision.Source.MODEL and not can_view_main_mask(user, slice_):
        raise Forbidden(f"slice {slice_.pk} is assigned to you for blind annotation: the main mask is hidden")
    return revision


def canonical_flips(series: Series) -> tuple[bool, bool]:
    """(flip rows, flip columns) that bring a stored slice to rows superior -> inferior and columns
    anterior -> posterior, read from the series' voxel -> RAS+ affine (index order plane, row, col).
    NIfTI imports are stored that way already; DICOM keeps the scanner's in-plane order."""
    try:
        affine = np.asarray(series.affine, dtype=float)
    except (TypeError, ValueError):
        return False, False
    if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
        return False, False
    rows, cols = affine[:3, 1], affine[:3, 2]
    # Only when the axis clearly is the cranio-caudal (z) / antero-posterior (y) one.
    flip_rows = int(np.argmax(np.abs(rows))) == 2 and rows[2] > 0  # rows run inferior -> superior
    flip_cols = int(np.argmax(np.abs(cols))) == 1 and cols[1] > 0  # columns run posterior -> anterior
    return bool(flip_rows), bool(flip_cols)


def _unflip(value: Any, height: int, width: int, flip_rows: bool, flip_cols: bool) -> Any:
    """Map every {"x", "y"} point of a result dict back from the canonical view to the stored slice."""
    if isinstance(value, dict):
        if value.keys() == {"x", "y"}:
            return {
                "x": round(width - 1 - value["x"], 3) if flip_cols else value["x"],
                "y": round(height - 1 - value["y"], 3) if flip_rows else value["y"],
            }
        out = {k: _unflip(v, height, width, flip_rows, flip_cols) for k, v in value.items()}
        if "rotation_deg" in out and flip_rows != flip_cols:
            out["rotation_deg"] = -out["rotation_deg"]  # one mirror turns the tilt the other way
        return out
    if isinstance(value, list | tuple):
        return [_unflip(v, height, width, flip_rows, flip_cols) for v in value]
    return value


def parse_lowest(raw: str | None) -> str | None:
    """The level of the lowest body, for masks without a sacrum to name the levels from."""
    if raw in (None, ""):
        return None
    if raw not in LEVELS_UP_FROM_SACRUM:
        raise InvalidInput(f"lowest must be a level such as L5 or T12, got {str(raw)[:20]!r}")
    return raw


def measure_revision(slice_: Slice, revision: MaskRevision, lowest: str | None = None) -> dict[str, Any]:
    """Measurements of a revision. lowest: the level of the lowest body when the mask has no sacrum."""
    series = slice_.series
    if series.view not in ("sag", ""):
        raise InvalidInput(
            f"series {series.pk} is a {series.view} series: vertebral bodies are measured on sagittal slices"
        )
    classes = measure_classes(slice_)
    spacing, assumed = in_plane_spacing(series)
    labels = revision_labels(revision)
    flip_rows, flip_cols = canonical_flips(series)
    canonical = labels[::-1] if flip_rows else labels
    canonical = canonical[:, ::-1] if flip_cols else canonical
    height, width = labels.shape
    measured = measure_slice(canonical, spacing, classes, lowest_level=lowest).to_dict()
    result = _unflip(measured, height, width, flip_rows, flip_cols)
    return {
        "slice": slice_.pk,
        "series": slice_.series_id,
        "index": slice_.index,
        "revision": {
            "id": revision.pk,
            "source": revision.source,
            "prelabel": revision.source == MaskRevision.Source.MODEL,
            # which model made a pre-label (as recorded by the ranking job), else None
            "model_version": (revision.meta or {}).get("model_version"),
            "model_label": (revision.meta or {}).get("label"),
            "created_at": revision.created_at.isoformat(),
        },
        "spacing_assumed": assumed,
        "classes": {"vertebra": classes.vertebra, "sacrum": classes.sacrum, "disc": classes.disc},
        "flipped_to_canonical": {"rows": flip_rows, "columns": flip_cols},
        **result,
    }


def slice_measurements(user: Viewer, slice_: Slice, which: str, lowest: str | None = None) -> dict[str, Any]:
    """Measurements of a slice the caller has checked `user` may see."""
    return measure_revision(slice_, find_revision(user, slice_, which), lowest)


def report_slice(visible: QuerySet[Slice], series: Series, which: str, slice_id: int | None) -> Slice:
    """The slice a series report shows: the one asked for, else the mid-sagittal one (most vertebra
    pixels in its mask, as counted when the revision was stored). visible: the slices the user sees."""
    slices = visible.filter(series=series).select_related(
        "head_revision", "prelabel_revision", "series__session__subject__project"
    )
    if slice_id is not None:
        chosen = slices.filter(pk=slice_id).first()
        if chosen is None:
            raise NotFound(f"slice {slice_id} is not a slice of series {series.pk} that you can see")
        return chosen
    first = slices.first()
    if first is None:
        raise NotFound(f"series {series.pk} has no slice that you can see")
    vertebra = measure_classes(first).vertebra
    field = "head_revision" if which == "head" else "prelabel_revision"

    def vertebra_pixels(s: Slice) -> int:
        rev = getattr(s, field)
        counts = list(rev.labelled_pixels or []) if rev is not None else []
        return int(counts[vertebra]) if vertebra < len(counts) else 0

    best = max(slices, key=lambda s: (vertebra_pixels(s), getattr(s, field) is not None), default=None)
    if best is None or getattr(best, field) is None:
        raise NotFound(f"series {series.pk} has no slice with a {which} mask to measure")
    return best


def series_report(
    user: Viewer,
    series: Series,
    visible: QuerySet[Slice],
    which: str,
    slice_id: int | None = None,
    lowest: str | None = None,
) -> dict[str, Any]:
    """Measurements of one slice of a series (see report_slice), with the subject and the other slices
    that have a mask. series and visible: what the caller has checked `user` may see."""
    slice_ = report_slice(visible, series, which, slice_id)
    data = measure_revision(slice_, find_revision(user, slice_, which), lowest)
    data["subject"] = series.session.subject.label
    data["modality"] = series.modality
    has_mask = {"head_revision__isnull" if which == "head" else "prelabel_revision__isnull": False}
    data["slices_with_masks"] = [
        {"id": s.pk, "index": s.index} for s in visible.filter(series=series, **has_mask).order_by("index")
    ]
    return data


CSV_COLUMNS = [
    "subject", "series", "slice", "revision", "source", "level", "measurable", "reason",
    "anterior_mm", "middle_mm", "posterior_mm", "rotation_deg",
    "loss_own_anterior", "loss_own_middle", "loss_own_posterior",
    "loss_vs_neighbours_anterior", "loss_vs_neighbours_middle", "loss_vs_neighbours_posterior",
    "genant_grade", "genant_label", "shape", "disc_below_anterior_mm", "disc_below_posterior_mm",
]  # fmt: skip


def report_csv(report: dict[str, Any]) -> str:
    """One row per body of a report (series_report / measure_revision) in CSV."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    discs = {d["upper"]: d for d in report["discs"]}
    for body in report["bodies"]:
        own = body["loss_own"] or {}
        near = body["loss_vs_neighbours"] or {}
        grade = body["grade"] or {}
        disc = discs.get(body["label"])
        writer.writerow(
            {
                "subject": report.get("subject", ""),
                "series": report["series"],
                "slice": report["slice"],
                "revision": report["revision"]["id"],
                "source": report["revision"]["source"],
                "level": body["label"],
                "measurable": body["measurable"],
                "reason": body["reason"] or "",
                "anterior_mm": (body["anterior"] or {}).get("mm", ""),
                "middle_mm": (body["middle"] or {}).get("mm", ""),
                "posterior_mm": (body["posterior"] or {}).get("mm", ""),
                "rotation_deg": (body["trapezoid"] or {}).get("rotation_deg", ""),
                "loss_own_anterior": own.get("anterior", ""),
                "loss_own_middle": own.get("middle", ""),
                "loss_own_posterior": own.get("posterior", ""),
                "loss_vs_neighbours_anterior": near.get("anterior", ""),
                "loss_vs_neighbours_middle": near.get("middle", ""),
                "loss_vs_neighbours_posterior": near.get("posterior", ""),
                "genant_grade": grade.get("grade", ""),
                "genant_label": grade.get("label", ""),
                "shape": grade.get("shape") or "",
                "disc_below_anterior_mm": disc["anterior"]["mm"] if disc else "",
                "disc_below_posterior_mm": disc["posterior"]["mm"] if disc else "",
            }
        )
    return out.getvalue()
