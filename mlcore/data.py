"""Training data: `Sample`s (one sagittal slice, its spacing and which classes its mask labels) and a
folder loader for MIDS trees and images/+masks/ PNG folders.

Shapes: images (C, H, W) float32 z-scored per volume, masks (H, W) int64 with IGNORE_INDEX where the
truth is unknown; slices in the canonical sagittal orientation of mlcore.preprocess (rows superior ->
inferior, columns anterior -> posterior). Geometry and normalisation live in mlcore.preprocess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlcore import io
from mlcore.preprocess import resample_onto, spacing_of, zscore, zscore_stats

IGNORE_INDEX = -100  # mask value where the truth is unknown (torch's cross-entropy default ignore_index)
__all__ = ["IGNORE_INDEX", "Sample", "load_folder", "label_map_from_table", "zscore", "zscore_stats"]


@dataclass
class Sample:
    id: str
    subject: str
    image: np.ndarray  # (C, H, W) float32, z-scored per volume
    mask: np.ndarray | None  # (H, W) int64 class ids (IGNORE_INDEX = unknown), or None when unlabelled
    spacing: tuple[float, float] = (1.0, 1.0)  # (row, col) mm per pixel
    labelled: tuple[int, ...] | None = None  # foreground classes the mask's source labels; None = all
    site: str = ""  # acquisition site / data set, for leave-one-site-out evaluation
    volume: str = ""  # the series (volume) the slice belongs to, for per-volume counts; "" = its subject
    index: int | None = None  # the slice's position in its volume (None: unknown, processed alone)

    @property
    def volume_key(self) -> str:
        return self.volume or self.subject


def remap_labels(mask: np.ndarray, label_map: Mapping[int, int] | None, source: str) -> np.ndarray:
    """Map source mask values to schema class ids (0 stays 0 unless mapped); unknown values raise."""
    mask = np.asarray(mask).astype(np.int64)
    if label_map is None:
        return mask
    lut = {0: 0, **{int(k): int(v) for k, v in label_map.items()}}
    values = np.unique(mask)
    unknown = [int(v) for v in values if int(v) not in lut]
    if unknown:
        raise ValueError(f"{source}: mask values {unknown} are not in label_map {sorted(lut)}")
    out = np.zeros_like(mask)
    for v in values:
        out[mask == v] = lut[int(v)]
    return out


# Names in a mask's label table -> the schema's class names. A table entry matches a class when its
# text, lower-cased, matches one of these patterns: instance labels ("vertebra instance 7"), levels
# ("L1", "T12", "L4-L5", "L5-S1") and plain names ("disc", "vertebrae").
_NAME_RULES: tuple[tuple[str, str], ...] = (
    (r"^(?:[ctls]\d{1,2})\s*[-/]\s*(?:[ctls]\d{1,2})$", "intervertebral discs"),
    (r"^(?:(?:intervertebral\s+)?discs?|ivd)(?:\s+(?:instance\s+)?\d+)?$", "intervertebral discs"),
    (r"^(?:[ctl]\d{1,2})$", "vertebrae"),
    (r"^(?:vertebra[el]?|vertebral\s+bod(?:y|ies))(?:\s+(?:instance\s+)?\d+)?$", "vertebrae"),
    (r"^(?:sacrum|s\d)$", "sacrum"),
)


def class_for_label(text: str, class_names: Sequence[str]) -> int | None:
    """The class id a label-table entry names: its exact (case-insensitive) class name, else the
    class the rules above give ("vertebra instance 7" -> vertebrae, "L4-L5" -> discs), else None."""
    lowered = {name.lower(): i for i, name in enumerate(class_names)}
    name = str(text).strip().lower()
    if name in lowered:
        return lowered[name]
    for pattern, cls in _NAME_RULES:
        if re.match(pattern, name) and cls in lowered:
            return lowered[cls]
    return None


def label_map_from_table(table: Mapping[int, str], class_names: Sequence[str]) -> dict[int, int]:
    """Source value -> class id from a mask's JSON label table ({1: "vertebra instance 1", ...} or
    {1: "L1", ...}), each entry through `class_for_label` (so instance labels map onto one class).
    ValueError naming the entries that match no class."""
    mapping: dict[int, int] = {}
    unknown = []
    for value, text in table.items():
        target = class_for_label(text, class_names)
        if target is None:
            unknown.append(f"{value}={text!r}")
        else:
            mapping[int(value)] = target
    if unknown:
        raise ValueError(f"label table entries {unknown} match no class of {list(class_names)}")
    return mapping


def unknown_above_labels(mask: np.ndarray, margin: int = 2) -> np.ndarray:
    """Rows above the highest labelled pixel of a volume (P, R, C), less a margin, as IGNORE_INDEX.

    For masks that label only some levels (mids-lumbar's L1-L5): the bodies above them (T11, T12)
    are visible but unlabelled, so their truth is unknown there, not background."""
    out = mask.copy()
    rows = np.flatnonzero((mask > 0).any(axis=(0, 2)))
    if rows.size:
        out[:, : max(int(rows[0]) - margin, 0), :] = IGNORE_INDEX
    return out


def _load_mids(
    root: Path,
    channels: Sequence[str],
    mask_desc: str | None,
    label_map: Mapping[int, int] | None,
    class_names: Sequence[str] | None,
    partial_extent: bool,
) -> list[Sample]:
    samples: list[Sample] = []
    for series in io.find_mids_series(root):
        missing = [c for c in channels if c not in series.images]
        if channels[0] not in series.images:
            continue  # another kind of series (e.g. only T1w when T2w is asked for)
        if missing:
            raise ValueError(
                f"{series.stem}: channel(s) {missing} requested but only {sorted(series.images)} exist"
            )
        ref, ref_aff = io.read_sagittal(series.images[channels[0]])
        planes = [zscore(ref, *zscore_stats(ref))]
        for channel in channels[1:]:
            stack, aff = io.read_sagittal(series.images[channel])
            planes.append(
                zscore(resample_onto(stack, aff, ref.shape, ref_aff, order=1), *zscore_stats(stack))
            )
        image = np.stack(planes, axis=1)  # (N, C, H, W)
        spacing = spacing_of(ref_aff)
        masks: np.ndarray | None = None
        labelled: tuple[int, ...] | None = None
        mask_paths = dict(series.masks) if mask_desc is None else {}
        if mask_desc is not None and mask_desc in series.masks:
            mask_paths = {mask_desc: series.masks[mask_desc]}
        if mask_paths:
            masks, labelled = _combined_mask(
                mask_paths, ref.shape, ref_aff, label_map, class_names, partial_extent
            )
        for i in range(image.shape[0]):
            samples.append(
                Sample(
                    f"{series.stem}/{i:03d}",
                    series.subject,
                    image[i],
                    None if masks is None else masks[i],
                    spacing=(spacing[1], spacing[2]),
                    labelled=labelled,
                    volume=series.stem,
                    index=i,
                )
            )
    return samples


def _combined_mask(
    paths: Mapping[str, Path],
    shape: tuple[int, ...],
    ref_aff: np.ndarray,
    label_map: Mapping[int, int] | None,
    class_names: Sequence[str] | None,
    partial_extent: bool,
) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """One (N, H, W) class mask from a series' masks (several descs, e.g. vertebrae + discs, are
    merged); with class names, each mask's label table decides the mapping and which classes count
    as labelled (the others are unknown for this series, not background)."""
    combined = np.zeros(shape, np.int64)
    classes: set[int] = set()
    for path in paths.values():
        raw, m_aff = io.read_sagittal(path)
        raw = np.rint(resample_onto(raw, m_aff, shape, ref_aff, order=0))
        mapping = label_map
        if mapping is None and class_names is not None:
            table = io.read_label_table(_sidecar_of(path)) if _sidecar_of(path).exists() else {}
            if not table:
                raise ValueError(f"{path.name}: no label table beside it; pass a label map")
            mapping = label_map_from_table(table, class_names)
        mask = remap_labels(raw, mapping, path.name)
        if partial_extent:
            mask = unknown_above_labels(mask)
        write = (mask != 0) & (combined <= 0)
        combined[write] = mask[write]
        combined[(mask == IGNORE_INDEX) & (combined == 0)] = IGNORE_INDEX
        classes |= {int(v) for v in (mapping or {}).values() if v > 0}
    if class_names is None:
        return combined, None
    return combined, tuple(sorted(classes))


def _sidecar_of(path: Path) -> Path:
    return path.with_name(re.sub(r"\.nii(\.gz)?$", ".json", path.name))


def load_folder(
    path: str | Path,
    channels: Sequence[str] = ("T2w",),
    mask_desc: str | None = None,
    label_map: Mapping[int, int] | None = None,
    labelled_only: bool = False,
    class_names: Sequence[str] | None = None,
    partial_extent: bool = False,
) -> list[Sample]:
    """Samples from a MIDS tree (one per sagittal slice; subject = the sub- label; the sagittal axis
    and the spacing come from each NIfTI affine) or from an images/N.png + masks/N.npy|png folder
    (each image its own subject, 1 mm pixels).

    label_map remaps source mask values to class ids. Without one, `class_names` maps each mask
    through the label table beside it (instance labels onto one class; several masks of a series,
    e.g. vertebrae and discs, are merged, and classes no mask of the series labels are marked
    unlabelled for it). partial_extent marks rows above the highest labelled pixel as unknown.
    labelled_only drops slices without a mask or with an empty one."""
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder")
    if (root / "images").is_dir():
        if len(channels) != 1:
            raise ValueError(f"a PNG folder has one channel, {list(channels)} were requested")
        samples = [
            Sample(
                f"png/{name}",
                f"png-{name}",
                zscore(img, *zscore_stats(img))[None],
                None if mask is None else remap_labels(mask, label_map, f"masks/{name}"),
            )
            for name, img, mask in io.read_png_folder(root)
        ]
    elif io.is_mids_tree(root):
        if mask_desc is None and label_map is not None:
            descs = {d for s in io.find_mids_series(root) for d in s.masks}
            if len(descs) > 1:
                raise ValueError(
                    f"several masks {sorted(descs)} share one label map; pass mask_desc to choose one"
                )
        samples = _load_mids(root, list(channels), mask_desc, label_map, class_names, partial_extent)
    else:
        raise ValueError(f"{root} is neither a MIDS tree (sub-*/) nor an images/ + masks/ folder")
    if labelled_only:
        samples = [s for s in samples if s.mask is not None and (s.mask > 0).any()]
    return samples
