"""Post-processing of predicted label volumes, chosen by cross-validation (nnU-Net's rule).

"largest_foreground": every foreground pixel outside the largest connected component of the
foreground (all classes together) becomes background, in 3D over a volume's slices (face
connectivity, through neighbouring slices too). The spine, its discs and the tissues around it form
one component; what a weak model adds far from it (bowel, bladder or a far lateral slice read as a
vertebral body) does not. Whether a model gets it is decided on its cross-validation: it is applied
only when it raises the mean foreground IoU over all folds (`choose`), as nnU-Net does.

Shapes: labels (N, H, W) (a volume's sagittal slices, in order) or (H, W) (a single slice); any
integer dtype; the input is never modified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from mlcore import metrics

POSTPROCESSING = ("none", "largest_foreground")


def check(name: str) -> str:
    if name not in POSTPROCESSING:
        raise ValueError(f"unknown postprocess {name!r}: choose one of {list(POSTPROCESSING)}")
    return name


def largest_foreground(labels: np.ndarray) -> np.ndarray:
    """Labels with every foreground pixel outside the largest foreground component set to 0."""
    arr = np.asarray(labels)
    foreground = arr > 0
    components, count = ndimage.label(foreground)
    if count <= 1:
        return arr.copy()
    sizes = np.bincount(components.ravel(), minlength=count + 1)
    sizes[0] = 0
    out = arr.copy()
    out[foreground & (components != int(np.argmax(sizes)))] = 0
    return out


def apply(name: str, labels: np.ndarray) -> np.ndarray:
    """`name` ("none" | "largest_foreground") applied to one volume's labels (N, H, W) or a slice."""
    if check(name) == "none":
        return np.asarray(labels)
    return largest_foreground(labels)


def runs(volumes: Sequence[str], indices: Sequence[int | None]) -> list[list[int]]:
    """Positions of the slices that form one stack: same volume, consecutive slice indices (in index
    order). A slice without an index is a stack of its own; so is each run of a volume whose labelled
    slices are not neighbours (3D connectivity between slices 10 mm apart would mean nothing)."""
    if len(volumes) != len(indices):
        raise ValueError(f"{len(volumes)} volume names for {len(indices)} slice indices")
    by_volume: dict[str, list[int]] = {}
    alone: list[list[int]] = []
    for position, (volume, index) in enumerate(zip(volumes, indices, strict=True)):
        if index is None:
            alone.append([position])
        else:
            by_volume.setdefault(volume, []).append(position)
    out: list[list[int]] = []
    for positions in by_volume.values():
        positions.sort(key=lambda p: (indices[p], p))
        current = [positions[0]]
        for p in positions[1:]:
            previous = indices[current[-1]]
            assert previous is not None
            if indices[p] == previous + 1:
                current.append(p)
            else:
                out.append(current)
                current = [p]
        out.append(current)
    return out + alone


def apply_to_slices(
    name: str, labels: Sequence[np.ndarray], volumes: Sequence[str], indices: Sequence[int | None]
) -> list[np.ndarray]:
    """Per-slice labels post-processed stack by stack (`runs`): slice i belongs to volume
    `volumes[i]` at position `indices[i]`. Slices of a stack that differ in shape are processed one
    by one."""
    if len(labels) != len(volumes):
        raise ValueError(f"{len(labels)} label maps for {len(volumes)} volume names")
    out = [np.asarray(x) for x in labels]
    if check(name) == "none":
        return out
    for stack in runs(volumes, indices):
        if len({out[i].shape for i in stack}) == 1:
            done = apply(name, np.stack([out[i] for i in stack]))
            for position, i in enumerate(stack):
                out[i] = done[position]
        else:
            for i in stack:
                out[i] = apply(name, out[i])
    return out


def choose(raw_mean_iou: float | None, post_mean_iou: float | None) -> str:
    """nnU-Net's rule: post-process only when it raises the cross-validated mean foreground IoU."""
    if post_mean_iou is None or not np.isfinite(post_mean_iou):
        return "none"
    if raw_mean_iou is None or not np.isfinite(raw_mean_iou) or post_mean_iou > raw_mean_iou:
        return "largest_foreground"
    return "none"


def decide(folds: Sequence[Mapping[str, Any]], class_names: Sequence[str]) -> dict[str, Any]:
    """The post-processing a model gets, from its cross-validation: `folds` holds, per fold, the
    validation confusion (K, K) under each post-processing ({"none": cm, "largest_foreground": cm}).

    Returns {"chosen", "mean_iou_fg": {name: mean over folds}, "iou": {name: per-class mean over
    folds}}. The choice is made on the same folds, so the post-processed figure is slightly
    optimistic; the CV report's own figures stay those of the raw predictions."""
    names = [n for n in POSTPROCESSING if folds and all(n in f for f in folds)]
    out: dict[str, Any] = {"chosen": "none", "mean_iou_fg": {}, "iou": {}}
    if "none" not in names:
        return out
    for name in names:
        summary = metrics.cv_summary(
            [metrics.iou_per_class(np.asarray(f[name], dtype=np.int64)).tolist() for f in folds], class_names
        )
        out["mean_iou_fg"][name] = summary["mean_iou_fg"]["mean"]
        out["iou"][name] = [row["mean"] for row in summary["classes"]]
    out["chosen"] = choose(out["mean_iou_fg"]["none"], out["mean_iou_fg"].get("largest_foreground"))
    return out
