"""Finding the vertebral bodies of a sagittal label map: instances, their cranio-caudal order, level names.

A class map (one value per tissue) is split into connected components of the vertebra class; a
component that holds two bodies touching through a narrow neck (a missing or thin disc) is split at the
neck: cores of the distance map are grown back by a watershed, and the split is kept only when the cores
are stacked cranio-caudally (a biconcave body's two lobes lie side by side and stay one body).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

# Level names from the sacrum upwards.
LEVELS_UP_FROM_SACRUM: tuple[str, ...] = (
    "L5", "L4", "L3", "L2", "L1",
    *(f"T{i}" for i in range(12, 0, -1)),
    *(f"C{i}" for i in range(7, 1, -1)),
)  # fmt: skip
VERTEBRA_NAMES = ("vertebrae", "vertebra", "vertebral body", "vertebral bodies")
SACRUM_NAMES = ("sacrum",)
DISC_NAMES = ("intervertebral discs", "intervertebral disc", "discs", "disc")
EIGHT = np.ones((3, 3), dtype=bool)
MIN_CORE_FRACTION = 0.05  # a core smaller than this share of its component is noise, not a body


@dataclass(frozen=True)
class MeasureClasses:
    """Class ids of a project's label schema that the measurements use."""

    vertebra: int
    sacrum: int | None = None
    disc: int | None = None

    @classmethod
    def from_names(cls, names: Sequence[str]) -> MeasureClasses:
        """Find the classes by name (index = pixel value). Raises ValueError without a vertebra class."""
        lowered = [n.strip().lower() for n in names]

        def find(options: tuple[str, ...]) -> int | None:
            return next((i for i, n in enumerate(lowered) if n in options), None)

        vertebra = find(VERTEBRA_NAMES)
        if vertebra is None:
            raise ValueError(
                f"no vertebra class among {list(names)}: one class must be named one of {list(VERTEBRA_NAMES)}"
            )
        return cls(vertebra=vertebra, sacrum=find(SACRUM_NAMES), disc=find(DISC_NAMES))


def split_component(component: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """Labels (H, W) int32 of one connected component: 1 if it is one body, 1..n when it is n bodies
    touching through necks."""
    dist = ndimage.distance_transform_edt(component, sampling=spacing)
    area = int(component.sum())
    top = float(dist.max())
    for fraction in np.linspace(0.15, 0.85, 15):
        cores, n = ndimage.label(dist > fraction * top, structure=EIGHT)
        if n < 2:
            continue
        sizes = ndimage.sum_labels(np.ones_like(cores), cores, index=np.arange(1, n + 1))
        big = [i + 1 for i, size in enumerate(sizes) if size >= MIN_CORE_FRACTION * area]
        if len(big) < 2:
            continue
        centres = np.array(ndimage.center_of_mass(np.ones_like(cores), cores, big)) * np.array(spacing)
        centres = centres[np.argsort(centres[:, 0])]
        steps = np.diff(centres, axis=0)
        if not np.all(np.abs(steps[:, 0]) > np.abs(steps[:, 1])):
            continue  # side by side: lobes of one body (e.g. biconcave), not stacked bodies
        markers = np.zeros(component.shape, dtype=np.int32)
        for new, old in enumerate(big, start=1):
            markers[cores == old] = new
        return _grow_back(markers, dist, component, fraction * top)
    return component.astype(np.int32)


def _grow_back(markers: np.ndarray, dist: np.ndarray, component: np.ndarray, start: float) -> np.ndarray:
    """Grow the cores back over the component level by level of the distance map (a watershed by
    flooding from the inside out), so two bodies meet where the distance map is lowest: at the neck."""
    labels = markers.copy()
    for level in np.linspace(start, 0.0, 25)[1:]:
        allowed = (dist > level) if level > 0 else component
        while True:
            grown = ndimage.grey_dilation(labels, footprint=EIGHT)
            fill = allowed & (labels == 0) & (grown > 0)
            if not fill.any():
                break
            labels[fill] = grown[fill]
    # pixels cut off from every core (thin spurs) join their nearest labelled neighbour
    if (component & (labels == 0)).any():
        _, (rows, cols) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
        labels = np.where(component & (labels == 0), labels[rows, cols], labels)
    return np.where(component, labels, 0).astype(np.int32)


def separate_bodies(labels: np.ndarray, vertebra: int, spacing: tuple[float, float]) -> np.ndarray:
    """Instance map (H, W) int32 (0 = none, 1..n) of the vertebral bodies of a class map."""
    components, n = ndimage.label(labels == vertebra, structure=EIGHT)
    instances = np.zeros(labels.shape, dtype=np.int32)
    next_id = 1
    for index, region in enumerate(ndimage.find_objects(components), start=1):
        if region is None:
            continue
        component = components[region] == index
        parts = split_component(component, spacing) if component.sum() > 1 else component.astype(np.int32)
        view = instances[region]
        for part in range(1, int(parts.max()) + 1):
            view[parts == part] = next_id
            next_id += 1
    return instances


def posterior_elements(instances: np.ndarray, spacing: tuple[float, float]) -> set[int]:
    """Components that are posterior elements (arches, spinous processes), not bodies: beside each of
    them, over at least half its cranio-caudal extent, lies a component at least half its size whose
    centre is more anterior by over half its depth. The 12-class schema's "vertebrae" class paints them
    too, behind the spinal canal, level with the bodies."""
    ids = [int(i) for i in np.unique(instances) if i != 0]
    objects = ndimage.find_objects(instances)
    boxes = {i: objects[i - 1] for i in ids}
    counts = dict(zip(ids, ndimage.sum_labels(np.ones_like(instances), instances, ids), strict=True))
    centres = dict(zip(ids, ndimage.center_of_mass(np.ones_like(instances), instances, ids), strict=True))
    found: set[int] = set()
    for i in ids:
        rows_i, cols_i = boxes[i]
        height_i = rows_i.stop - rows_i.start
        depth_mm = (cols_i.stop - cols_i.start) * spacing[1]
        for j in ids:
            if j == i or counts[j] < 0.5 * counts[i]:
                continue
            rows_j = boxes[j][0]
            overlap = min(rows_i.stop, rows_j.stop) - max(rows_i.start, rows_j.start)
            anterior_by_mm = (centres[i][1] - centres[j][1]) * spacing[1]
            if overlap >= 0.5 * height_i and anterior_by_mm > 0.5 * depth_mm:
                found.add(i)
                break
    return found


def cranio_caudal_order(instances: np.ndarray) -> list[int]:
    """Instance ids sorted from superior (small row) to inferior by centroid."""
    ids = [int(i) for i in np.unique(instances) if i != 0]
    if not ids:
        return []
    centres = ndimage.center_of_mass(np.ones_like(instances), instances, ids)
    return [i for _, i in sorted(zip([c[0] for c in centres], ids, strict=True))]


def names_from_sacrum(
    instances: np.ndarray, order: list[int], sacrum_mask: np.ndarray
) -> tuple[dict[int, str], str] | None:
    """Name the bodies above the sacrum L5, L4, ... upwards; None when there is no sacrum."""
    if not sacrum_mask.any():
        return None
    sacrum_top = int(np.nonzero(sacrum_mask.any(axis=1))[0][0])
    centres = dict(
        zip(
            order,
            [c[0] for c in ndimage.center_of_mass(np.ones_like(instances), instances, order)],
            strict=False,
        )
    )
    above = [i for i in order if centres[i] < sacrum_top]
    names: dict[int, str] = {}
    for rank, inst in enumerate(reversed(above)):
        names[inst] = LEVELS_UP_FROM_SACRUM[rank] if rank < len(LEVELS_UP_FROM_SACRUM) else f"V{rank + 1}"
    below = [i for i in order if i not in names]
    for k, inst in enumerate(below, start=1):
        names[inst] = f"below sacrum {k}"
    return names, "levels named upwards from the sacrum (the body just above it is L5)"


def names_from_lowest(order: list[int], lowest: str) -> tuple[dict[int, str], str]:
    """Name the bodies upwards from a caller-given level of the lowest body (e.g. "L5")."""
    if lowest not in LEVELS_UP_FROM_SACRUM:
        raise ValueError(f"unknown level {lowest!r}; expected one of {list(LEVELS_UP_FROM_SACRUM)}")
    start = LEVELS_UP_FROM_SACRUM.index(lowest)
    names = {}
    for rank, inst in enumerate(reversed(order)):
        k = start + rank
        names[inst] = LEVELS_UP_FROM_SACRUM[k] if k < len(LEVELS_UP_FROM_SACRUM) else f"V{len(order) - rank}"
    return names, f"levels named upwards from the lowest body, given as {lowest}"


def numbered(order: list[int], why: str) -> tuple[dict[int, str], str]:
    return {inst: f"V{k}" for k, inst in enumerate(order, start=1)}, (
        f"levels not named ({why}): bodies numbered V1, V2, ... from cranial"
    )
