"""Lesion-level metrics: per connected component, next to the pixel IoU (numpy/scipy only).

A lesion is a connected component of one class in the truth (8-connected in 2D, 26-connected in
3D). For each truth lesion, the predicted components of the same class that touch it are its match:

- detected: the IoU between the lesion and its match is at least `min_iou` (default 0.1, a loose
  criterion as in lesion-detection work: the model found the lesion, even if its outline is rough);
- lesion-wise Dice: the Dice between the lesion and its match (0 when nothing touches it), averaged
  over lesions;
- a false positive: a predicted component touching no truth lesion of its class.

`lesion_counts` scores one image (a slice or a volume); `summarise` adds up many images into
sensitivity, false positives per image and mean lesion-wise Dice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import ndimage

MIN_IOU = 0.1


def _components(binary: np.ndarray) -> tuple[np.ndarray, int]:
    structure = ndimage.generate_binary_structure(binary.ndim, binary.ndim)  # 8 / 26 neighbours
    labelled, count = ndimage.label(binary, structure=structure)
    return labelled, int(count)


def lesion_counts(
    pred: np.ndarray, truth: np.ndarray, classes: Sequence[int], min_iou: float = MIN_IOU
) -> dict[int, dict[str, float]]:
    """pred, truth: label maps of one image, same shape ((H, W) or (D, H, W)) -> per class
    {lesions, detected, false_positives, dice_sum} (dice_sum: the sum of lesion-wise Dice)."""
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} must have the same shape")
    out: dict[int, dict[str, float]] = {}
    for cls in classes:
        truth_cc, n_truth = _components(truth == cls)
        pred_cc, n_pred = _components(pred == cls)
        detected, dice_sum = 0, 0.0
        for lesion in range(1, n_truth + 1):
            region = truth_cc == lesion
            touching = np.unique(pred_cc[region])
            touching = touching[touching > 0]
            match = np.isin(pred_cc, touching) if touching.size else np.zeros_like(region)
            overlap = float(np.logical_and(region, match).sum())
            size, matched = float(region.sum()), float(match.sum())
            union = size + matched - overlap
            if union and overlap / union >= min_iou:
                detected += 1
            dice_sum += 2 * overlap / (size + matched) if size + matched else 0.0
        hit = np.unique(pred_cc[truth == cls])
        false_positives = n_pred - int((hit > 0).sum())
        out[int(cls)] = {
            "lesions": float(n_truth),
            "detected": float(detected),
            "false_positives": float(false_positives),
            "dice_sum": dice_sum,
        }
    return out


def summarise(
    per_image: Iterable[dict[int, dict[str, float]]], classes: Sequence[int], volumes: int | None = None
) -> dict[str, Any]:
    """Counts of many images (slices of `volumes` volumes) -> {"images": n, "volumes": v, "classes":
    {cls: {lesions, detected, sensitivity, false_positives, fp_per_image, fp_per_volume,
    lesion_dice}}}; sensitivity and lesion_dice are None without truth lesions, fp_per_volume None
    when the number of volumes is not given."""
    totals = {
        int(c): {"lesions": 0.0, "detected": 0.0, "false_positives": 0.0, "dice_sum": 0.0} for c in classes
    }
    images = 0
    for counts in per_image:
        images += 1
        for cls, row in counts.items():
            for key in totals[cls]:
                totals[cls][key] += row[key]
    summary: dict[int, dict[str, Any]] = {}
    for cls, t in totals.items():
        summary[cls] = {
            "lesions": int(t["lesions"]),
            "detected": int(t["detected"]),
            "sensitivity": t["detected"] / t["lesions"] if t["lesions"] else None,
            "false_positives": int(t["false_positives"]),
            "fp_per_image": t["false_positives"] / images if images else None,
            "fp_per_volume": t["false_positives"] / volumes if volumes else None,
            "lesion_dice": t["dice_sum"] / t["lesions"] if t["lesions"] else None,
        }
    return {"images": images, "volumes": volumes, "min_iou": MIN_IOU, "classes": summary}


def merge_summaries(summaries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Summaries of disjoint image sets (e.g. the folds of a round, split by patient, so their volumes
    are disjoint too) -> one summary of all images."""
    images = sum(int(s["images"]) for s in summaries)
    counted = [s.get("volumes") for s in summaries]
    volumes = sum(int(v) for v in counted if v) if all(counted) else None
    merged: dict[str, dict[str, float]] = {}
    for s in summaries:
        for cls, row in s["classes"].items():
            t = merged.setdefault(
                str(cls), {"lesions": 0, "detected": 0, "false_positives": 0, "dice_sum": 0.0}
            )
            t["lesions"] += row["lesions"]
            t["detected"] += row["detected"]
            t["false_positives"] += row["false_positives"]
            t["dice_sum"] += (row["lesion_dice"] or 0.0) * row["lesions"]
    classes = {
        cls: {
            "lesions": int(t["lesions"]),
            "detected": int(t["detected"]),
            "sensitivity": t["detected"] / t["lesions"] if t["lesions"] else None,
            "false_positives": int(t["false_positives"]),
            "fp_per_image": t["false_positives"] / images if images else None,
            "fp_per_volume": t["false_positives"] / volumes if volumes else None,
            "lesion_dice": t["dice_sum"] / t["lesions"] if t["lesions"] else None,
        }
        for cls, t in merged.items()
    }
    return {"images": images, "volumes": volumes, "min_iou": MIN_IOU, "classes": classes}
