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
    """Mean and (population) std over axis 0, ignoring nan; nan where every value is nan."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "mean of empty slice" for all-nan classes
        return np.nanmean(values, axis=0), np.nanstd(values, axis=0)


def _json(value: float) -> float | None:
    """A finite float, or None for nan/inf (the summary goes into JSON columns and API answers)."""
    return float(value) if np.isfinite(value) else None


def _means(iou: np.ndarray, classes: Sequence[int] | None) -> tuple[float, float]:
    """(mean IoU over the foreground classes, mean IoU over all classes) of one (K,) row, ignoring nan.
    Class 0 is background; `classes` restricts both means to those class ids."""
    ids = list(range(len(iou))) if classes is None else [int(c) for c in classes]
    fg = iou[[c for c in ids if c != 0]]
    every = iou[ids]
    fg, every = fg[~np.isnan(fg)], every[~np.isnan(every)]
    return (
        float(fg.mean()) if fg.size else float("nan"),
        float(every.mean()) if every.size else float("nan"),
    )


def cv_summary(
    fold_ious: Sequence[Sequence[float | None]],
    class_names: Sequence[str],
    classes: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The cross-validation summary every part of SpineLab shows, from per-fold per-class IoU.

    fold_ious: F rows of K values (None or nan: the class is absent from that fold).
    Returns (values are fractions 0..1, None where undefined, so the dict is JSON-ready):
      {"class_names": [K names],
       "classes": [{"name", "mean", "std"}] (one per class, in class order),
       "folds": [{"iou": [K], "mean_iou_fg", "mean_iou_all"}] (one per fold),
       "mean_iou_fg": {"mean", "std"}, "mean_iou_all": {"mean", "std"}}.
    `mean_iou_fg` is the mean IoU over the foreground classes (background, class 0, left out);
    `mean_iou_all` includes background. Each fold's mean over the classes present, then mean and
    population std over folds. `classes` restricts both means to those class ids."""
    k = len(class_names)
    rows = [[np.nan if v is None else float(v) for v in fold] for fold in fold_ious]
    if any(len(row) != k for row in rows):
        raise ValueError(f"every fold needs {k} IoU values, one per class name")
    table = np.array(rows, dtype=np.float64).reshape(len(rows), k)  # (F, K)
    per_fold = [_means(table[f], classes) for f in range(len(rows))]
    fg = np.array([m[0] for m in per_fold], dtype=np.float64)
    every = np.array([m[1] for m in per_fold], dtype=np.float64)
    class_mean, class_std = _mean_std(table) if len(rows) else (np.full(k, np.nan), np.full(k, np.nan))
    fg_mean, fg_std = _mean_std(fg) if len(rows) else (np.nan, np.nan)
    all_mean, all_std = _mean_std(every) if len(rows) else (np.nan, np.nan)
    return {
        "class_names": list(class_names),
        "classes": [
            {"name": name, "mean": _json(class_mean[c]), "std": _json(class_std[c])}
            for c, name in enumerate(class_names)
        ],
        "folds": [
            {
                "iou": [_json(v) for v in table[f]],
                "mean_iou_fg": _json(per_fold[f][0]),
                "mean_iou_all": _json(per_fold[f][1]),
            }
            for f in range(len(rows))
        ],
        "mean_iou_fg": {"mean": _json(float(fg_mean)), "std": _json(float(fg_std))},
        "mean_iou_all": {"mean": _json(float(all_mean)), "std": _json(float(all_std))},
    }


def cv_report(
    fold_cms: Sequence[np.ndarray], class_names: Sequence[str], classes: Sequence[int] | None = None
) -> dict[str, Any]:
    """`cv_summary` from one (K, K) confusion matrix per fold, plus Dice and the pooled figures:
    each class also has "dice_mean" and "dice_std", each fold "dice" [K], and
    "pooled": {"iou": [K], "mean_iou_fg", "mean_iou_all"} over all folds' pixels together."""
    if not fold_cms:
        raise ValueError("cv_report needs at least one fold confusion matrix")
    cms = [np.asarray(cm, dtype=np.int64) for cm in fold_cms]
    k = len(class_names)
    if any(cm.shape != (k, k) for cm in cms):
        raise ValueError(f"every confusion matrix must be {k}x{k} for {k} class names")
    iou = np.stack([iou_per_class(cm) for cm in cms])  # (F, K)
    dice = np.stack([dice_per_class(cm) for cm in cms])  # (F, K)
    report = cv_summary(iou.tolist(), class_names, classes)
    dice_m, dice_s = _mean_std(dice)
    for c, row in enumerate(report["classes"]):
        row["dice_mean"], row["dice_std"] = _json(dice_m[c]), _json(dice_s[c])
    for f, fold in enumerate(report["folds"]):
        fold["dice"] = [_json(v) for v in dice[f]]
    pooled = iou_per_class(np.sum(cms, axis=0))
    fg, every = _means(pooled, classes)
    report["pooled"] = {
        "iou": [_json(v) for v in pooled],
        "mean_iou_fg": _json(fg),
        "mean_iou_all": _json(every),
    }
    return report


def _pct(mean: float | None, std: float | None) -> str:
    if mean is None or np.isnan(mean):
        return "      n/a"
    return f"{100 * mean:5.1f} ± {100 * (std or 0.0):4.1f}"


def format_report(report: dict[str, Any]) -> str:
    """Plain-text table in the paper's layout (a `cv_summary`/`cv_report`): one row per class with IoU
    (and Dice, when known) mean ± std in %, then mean IoU without and with background."""
    names = report["class_names"]
    width = max(len("mean IoU without background"), *(len(n) for n in names))
    n_folds = len(report["folds"])
    lines = [
        f"{'class':<{width}}  {'IoU %':>12}  {'Dice %':>12}   ({n_folds} fold{'s' if n_folds != 1 else ''})"
    ]
    lines.append("-" * len(lines[0]))
    for i, row in enumerate(report["classes"]):
        lines.append(
            f"{i:>2} {row['name']:<{width - 3}}  {_pct(row['mean'], row['std']):>12}  "
            f"{_pct(row.get('dice_mean'), row.get('dice_std')):>12}"
        )
    lines.append("-" * len(lines[0]))
    for label, key in (
        ("mean IoU without background", "mean_iou_fg"),
        ("mean IoU with background", "mean_iou_all"),
    ):
        lines.append(f"{label:<{width}}  {_pct(report[key]['mean'], report[key]['std']):>12}")
    return "\n".join(lines)
