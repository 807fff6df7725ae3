"""The paper's segmentation metric: IoU per class accumulated over all pixels of the evaluated set.

IoU_c = m_cc / (t_c + m_c - m_cc), with m_cc = pixels of class c predicted as c, t_c = ground-truth
pixels of c and m_c = pixels predicted as c. A class absent from both ground truth and prediction has
IoU nan and is left out of the means.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np


def _as_numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):  # torch.Tensor, without importing torch here
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def confusion_matrix(pred: Any, target: Any, num_classes: int) -> np.ndarray:
    """(K,K) int64 counts, rows = ground truth class, columns = predicted class, over all pixels.
    pred and target: integer arrays or tensors of the same shape (any number of dimensions)."""
    p, t = _as_numpy(pred).ravel(), _as_numpy(target).ravel()
    if p.shape != t.shape:
        raise ValueError(f"prediction has {p.size} pixels, target has {t.size}")
    for name, arr in (("target", t), ("prediction", p)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            bad = sorted({int(v) for v in np.unique(arr) if v < 0 or v >= num_classes})
            raise ValueError(f"{name} has values {bad} outside 0..{num_classes - 1}")
    flat = t.astype(np.int64) * num_classes + p.astype(np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def iou_per_class(cm: np.ndarray) -> np.ndarray:
    """(K,) float64 IoU per class; nan where the class is in neither ground truth nor prediction."""
    cm = np.asarray(cm, dtype=np.float64)
    hit = np.diag(cm)
    union = cm.sum(axis=1) + cm.sum(axis=0) - hit
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, hit / union, np.nan)


def dice_per_class(cm: np.ndarray) -> np.ndarray:
    """(K,) float64 Dice = 2 m_cc / (t_c + m_c); nan where the class is absent from both."""
    cm = np.asarray(cm, dtype=np.float64)
    total = cm.sum(axis=1) + cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2 * np.diag(cm) / total, np.nan)


def mean_iou(cm: np.ndarray, include_background: bool = True, classes: Sequence[int] | None = None) -> float:
    """Mean IoU over the classes considered (class 0 is background), ignoring nan classes.
    `classes` restricts the mean to those class ids (e.g. the classes a dataset actually labels)."""
    iou = iou_per_class(cm)
    ids = list(range(len(iou))) if classes is None else [int(c) for c in classes]
    if not include_background:
        ids = [c for c in ids if c != 0]
    values = iou[ids]
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def _mean_std(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) std over folds, axis 0, ignoring nan; nan where all folds are nan."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "mean of empty slice" for all-nan classes
        return np.nanmean(values, axis=0), np.nanstd(values, axis=0)


def cv_report(
    fold_cms: Sequence[np.ndarray], class_names: Sequence[str], classes: Sequence[int] | None = None
) -> dict[str, Any]:
    """Cross-validation summary from one confusion matrix per fold.

    Returns {"class_names", "folds": [{"iou": [...], "dice": [...], "mean_iou", "mean_iou_no_bg"}],
    "classes": {name: {"iou_mean", "iou_std", "dice_mean", "dice_std", "iou_folds"}},
    "mean_iou": {"mean", "std"}, "mean_iou_no_bg": {"mean", "std"}, "pooled": {...}}.
    Values are fractions (0..1); nan marks a class absent from a fold (or from all folds)."""
    if not fold_cms:
        raise ValueError("cv_report needs at least one fold confusion matrix")
    cms = [np.asarray(cm, dtype=np.int64) for cm in fold_cms]
    k = len(class_names)
    if any(cm.shape != (k, k) for cm in cms):
        raise ValueError(f"every confusion matrix must be {k}x{k} for {k} class names")
    iou = np.stack([iou_per_class(cm) for cm in cms])  # (F, K)
    dice = np.stack([dice_per_class(cm) for cm in cms])  # (F, K)
    with_bg = np.array([mean_iou(cm, True, classes) for cm in cms])
    no_bg = np.array([mean_iou(cm, False, classes) for cm in cms])
    iou_m, iou_s = _mean_std(iou)
    dice_m, dice_s = _mean_std(dice)
    pooled = np.sum(cms, axis=0)
    return {
        "class_names": list(class_names),
        "folds": [
            {
                "iou": iou[f].tolist(),
                "dice": dice[f].tolist(),
                "mean_iou": float(with_bg[f]),
                "mean_iou_no_bg": float(no_bg[f]),
            }
            for f in range(len(cms))
        ],
        "classes": {
            name: {
                "iou_mean": float(iou_m[c]),
                "iou_std": float(iou_s[c]),
                "dice_mean": float(dice_m[c]),
                "dice_std": float(dice_s[c]),
                "iou_folds": iou[:, c].tolist(),
            }
            for c, name in enumerate(class_names)
        },
        "mean_iou": {"mean": float(np.nanmean(with_bg)), "std": float(np.nanstd(with_bg))},
        "mean_iou_no_bg": {"mean": float(np.nanmean(no_bg)), "std": float(np.nanstd(no_bg))},
        "pooled": {
            "iou": iou_per_class(pooled).tolist(),
            "mean_iou": mean_iou(pooled, True, classes),
            "mean_iou_no_bg": mean_iou(pooled, False, classes),
        },
    }


def _pct(mean: float, std: float) -> str:
    if np.isnan(mean):
        return "      n/a"
    return f"{100 * mean:5.1f} ± {100 * std:4.1f}"


def format_report(report: dict[str, Any]) -> str:
    """Plain-text table in the paper's layout: one row per class with IoU (and Dice) mean ± std in %,
    then mean IoU without and with background."""
    names = report["class_names"]
    width = max(len("mean IoU without background"), *(len(n) for n in names))
    n_folds = len(report["folds"])
    lines = [
        f"{'class':<{width}}  {'IoU %':>12}  {'Dice %':>12}   ({n_folds} fold{'s' if n_folds != 1 else ''})"
    ]
    lines.append("-" * len(lines[0]))
    for i, name in enumerate(names):
        row = report["classes"][name]
        lines.append(
            f"{i:>2} {name:<{width - 3}}  {_pct(row['iou_mean'], row['iou_std']):>12}  "
            f"{_pct(row['dice_mean'], row['dice_std']):>12}"
        )
    lines.append("-" * len(lines[0]))
    for label, key in (
        ("mean IoU without background", "mean_iou_no_bg"),
        ("mean IoU with background", "mean_iou"),
    ):
        lines.append(f"{label:<{width}}  {_pct(report[key]['mean'], report[key]['std']):>12}")
    return "\n".join(lines)
