"""Measuring every vertebral body of a sagittal slice: the entry points of mlcore.measure."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy import ndimage

from mlcore.measure import bodies as found
from mlcore.measure.grading import grade, neighbour_loss, own_loss
from mlcore.measure.trapezoid import line_points_mm, measure_body
from mlcore.measure.types import BodyMeasurement, DiscMeasurement, HeightLine, Point, SliceMeasurement

MIN_AREA_MM2 = 50.0  # an adult lumbar body in a sagittal slice covers ~ 800-1500 mm^2
MIN_PIXELS = 20
SPECK_PIXELS = 5  # smaller components are noise; counted in `ignored_specks`, not listed
FRAGMENT_OF_MEDIAN = 0.25  # smaller than this share of the median body: a fragment, not a level
MAX_HEIGHT_TO_DEPTH = 1.6  # a body taller than this is two or more bodies merged
# Share of its bounding trapezoid a body's pixels fill: 0.59-1.0 (median 0.81) over 309 bodies of the
# real masks and the phantom, 0.54 for a body whose middle lost 60 % of its height; a noisy or
# ring-shaped blob fills far less and is not measured.
MIN_FILL = 0.45


def measure_slice(
    labels: np.ndarray,
    spacing: Sequence[float],
    classes: found.MeasureClasses | Sequence[str],
    lowest_level: str | None = None,
) -> SliceMeasurement:
    """Measure the vertebral bodies of a class map.

    labels: (H, W) int class map, rows superior -> inferior, columns anterior -> posterior.
    spacing: (row_mm, col_mm). classes: the ids, or the schema's class names (index = value).
    lowest_level: name of the lowest body (e.g. "L5") when the mask has no sacrum to name levels from.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"expected a 2D label map (H, W), got shape {labels.shape}")
    if not isinstance(classes, found.MeasureClasses):
        classes = found.MeasureClasses.from_names(list(classes))
    row_col = _check_spacing(spacing)
    instances = found.separate_bodies(labels, classes.vertebra, row_col)
    arches = found.posterior_elements(instances, row_col)
    if arches:
        instances[np.isin(instances, list(arches))] = 0
    sacrum = labels == classes.sacrum if classes.sacrum is not None else None

    def naming(order: list[int]) -> tuple[dict[int, str], str]:
        if sacrum is not None:
            named = found.names_from_sacrum(instances, order, sacrum)
            if named is not None:
                return named
        if lowest_level is not None:
            return found.names_from_lowest(order, lowest_level)
        why = "no sacrum in the mask" if classes.sacrum is not None else "the schema has no sacrum class"
        return found.numbered(order, why)

    result = _measure(instances, row_col, naming)
    result.posterior_elements = len(arches)
    return result


def measure_instances(
    instances: np.ndarray,
    spacing: Sequence[float],
    names: Mapping[int, str] | None = None,
    lowest_level: str | None = None,
) -> SliceMeasurement:
    """Measure a mask that already holds one label per body (0 = background), used as is.
    names: level name per label (e.g. {1: "L1", ...}); without it, lowest_level or numbers."""
    instances = np.asarray(instances)
    if instances.ndim != 2:
        raise ValueError(f"expected a 2D instance map (H, W), got shape {instances.shape}")
    row_col = _check_spacing(spacing)

    def naming(order: list[int]) -> tuple[dict[int, str], str]:
        if names is not None:
            return {i: names.get(i, f"label {i}") for i in order}, "levels named by the mask's label table"
        if lowest_level is not None:
            return found.names_from_lowest(order, lowest_level)
        return found.numbered(order, "no label table given")

    return _measure(instances.astype(np.int64), row_col, naming)


def _check_spacing(spacing: Sequence[float]) -> tuple[float, float]:
    values = [float(v) for v in spacing]
    if len(values) != 2 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"spacing must be two positive numbers (row_mm, col_mm), got {list(spacing)}")
    return values[0], values[1]


Naming = Callable[[list[int]], tuple[dict[int, str], str]]


def _measure(instances: np.ndarray, spacing: tuple[float, float], naming: Naming) -> SliceMeasurement:
    shape = (int(instances.shape[0]), int(instances.shape[1]))
    pixel_mm2 = spacing[0] * spacing[1]
    ids = found.cranio_caudal_order(instances)
    counts = dict(
        zip(ids, (int(c) for c in ndimage.sum_labels(np.ones_like(instances), instances, ids)), strict=True)
    )
    specks = [i for i in ids if counts[i] < SPECK_PIXELS]
    ids = [i for i in ids if counts[i] >= SPECK_PIXELS]
    if not ids:
        return SliceMeasurement(
            spacing_mm=spacing, shape=shape, levels_named=False, naming="no vertebral body",
            reason="no vertebra pixels in this mask" if not specks else "only specks of vertebra pixels",
            ignored_specks=len(specks),
        )  # fmt: skip
    median_area = float(np.median([counts[i] for i in ids])) * pixel_mm2
    fragment_reason: dict[int, str] = {}
    for i in ids:
        area = counts[i] * pixel_mm2
        if counts[i] < MIN_PIXELS or area < MIN_AREA_MM2:
            fragment_reason[i] = (
                f"fragment too small to measure ({int(counts[i])} px, {area:.0f} mm^2; "
                f"a body needs {MIN_AREA_MM2:.0f} mm^2 and {MIN_PIXELS} px)"
            )
        elif len(ids) >= 3 and area < FRAGMENT_OF_MEDIAN * median_area:
            fragment_reason[i] = (
                f"fragment too small to measure ({area:.0f} mm^2, under a quarter of the median body's "
                f"{median_area:.0f} mm^2)"
            )
    levels = [i for i in ids if i not in fragment_reason]
    names, how = naming(levels) if levels else ({}, "no body large enough to name")
    fragments = [i for i in ids if i in fragment_reason]
    for k, i in enumerate(fragments, start=1):
        names[i] = f"fragment {k}"
    result = SliceMeasurement(
        spacing_mm=spacing, shape=shape, levels_named=not how.startswith(("levels not", "no body")),
        naming=how, ignored_specks=len(specks),
    )  # fmt: skip
    centres = ndimage.center_of_mass(np.ones_like(instances), instances, ids)
    for order, (i, centre) in enumerate(zip(ids, centres, strict=True)):
        body = instances == i
        measurement = BodyMeasurement(
            label=names[i], order=order, pixels=int(counts[i]), area_mm2=round(float(counts[i] * pixel_mm2), 2),
            centroid=Point(x=round(float(centre[1]), 3), y=round(float(centre[0]), 3)), measurable=False,
            fragment=i in fragment_reason,
        )  # fmt: skip
        measurement.reason = fragment_reason.get(i) or _border_reason(body)
        if measurement.reason is None:
            _fill_geometry(measurement, body, spacing)
        result.bodies.append(measurement)
    _grade_all(result)
    result.discs = _discs(result, spacing)
    if not result.measurable:
        result.reason = "no measurable vertebral body: " + "; ".join(
            f"{b.label}: {b.reason}" for b in result.bodies
        )
    return result


def _border_reason(body: np.ndarray) -> str | None:
    edges = {
        "top": body[0].any(),
        "bottom": body[-1].any(),
        "anterior (left)": body[:, 0].any(),
        "posterior (right)": body[:, -1].any(),
    }
    cut = [side for side, touches in edges.items() if touches]
    return f"cut by the image border ({', '.join(cut)} edge)" if cut else None


def _fill_geometry(measurement: BodyMeasurement, body: np.ndarray, spacing: tuple[float, float]) -> None:
    try:
        geometry = measure_body(body, spacing)
    except ValueError as exc:
        measurement.reason = f"not measurable: {exc}"
        return
    measurement.trapezoid = geometry.trapezoid
    fill = measurement.area_mm2 / max(geometry.trapezoid.area_mm2, 1e-9)
    if fill < MIN_FILL:
        measurement.reason = (
            f"irregular outline: its pixels fill {fill:.0%} of the bounding trapezoid "
            f"(a vertebral body fills over {MIN_FILL:.0%}); check the mask"
        )
        return
    missing = [n for n in ("anterior", "middle", "posterior") if getattr(geometry, n) is None]
    if missing:
        measurement.reason = f"the {', '.join(missing)} height line misses the body (irregular shape)"
        return
    measurement.anterior, measurement.middle, measurement.posterior = (
        geometry.anterior,
        geometry.middle,
        geometry.posterior,
    )
    heights = measurement.heights_mm()
    assert heights is not None
    corners = geometry.trapezoid.corners
    depth_mm = float(
        np.hypot(
            (corners[1].x - corners[0].x + corners[2].x - corners[3].x) / 2 * spacing[1],
            (corners[1].y - corners[0].y + corners[2].y - corners[3].y) / 2 * spacing[0],
        )
    )
    tallest = max(heights.anterior, heights.middle, heights.posterior)
    if tallest > MAX_HEIGHT_TO_DEPTH * depth_mm:
        measurement.anterior = measurement.middle = measurement.posterior = None
        measurement.reason = (
            f"taller ({tallest:.0f} mm) than deep ({depth_mm:.0f} mm): probably several bodies merged; "
            "paint the disc between them"
        )
        return
    measurement.measurable = True
    measurement.loss_own = own_loss(heights)


def _grade_all(result: SliceMeasurement) -> None:
    """Ratios against the nearest measurable body above and below (skipping fragments), then grades."""
    levels = [b for b in result.bodies if not b.fragment]
    for k, body in enumerate(levels):
        heights = body.heights_mm()
        if not body.measurable or heights is None or body.loss_own is None:
            continue
        neighbours = []
        for side in (levels[:k][::-1], levels[k + 1 :]):
            nearest = next((b for b in side if b.measurable), None)
            if nearest is not None and (h := nearest.heights_mm()) is not None:
                neighbours.append(h)
        body.loss_vs_neighbours = neighbour_loss(heights, neighbours)
        body.grade = grade(body.loss_own, body.loss_vs_neighbours)


def _discs(result: SliceMeasurement, spacing: tuple[float, float]) -> list[DiscMeasurement]:
    """Distances between consecutive levels that are both measured."""
    levels = [b for b in result.bodies if not b.fragment]
    discs = []
    for upper, lower in zip(levels, levels[1:], strict=False):
        if not (upper.measurable and lower.measurable):
            continue
        lines = []
        for name in ("anterior", "posterior"):
            up, low = getattr(upper, name), getattr(lower, name)
            start, end = line_points_mm(up, spacing)[1], line_points_mm(low, spacing)[0]
            lines.append(
                HeightLine(start=up.end, end=low.start, mm=round(float(np.linalg.norm(end - start)), 3))
            )
        discs.append(
            DiscMeasurement(upper=upper.label, lower=lower.label, anterior=lines[0], posterior=lines[1])
        )
    return discs
