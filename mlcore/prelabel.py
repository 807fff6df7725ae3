"""Pre-labelling with active-learning scores: one pass per model gives the pre-label, its scores and
a feature vector for diversity (`prelabel_slices`, the pre-label job's mlcore call).

The post-processing after the forward passes works on whole batches of slices of one shape: the
probabilities go back onto the slices' grid with torch's bilinear `F.interpolate` (one call, where
scipy resampled each class of each slice on one core), then one numpy pass over the classes gives
the labels, entropy, margin and pooled features (bench/RESULTS.md, "Pre-labelling"). It gives what
the per-slice numpy/scipy path gave: probabilities equal to ~1e-6, labels equal but for near-ties
(tests/mlcore/test_prelabel_batched.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mlcore.predict import (
    EPS,
    entropy_map,
    plan_groups,
    predict_slices,
    sliding_window_probs_per_model,
    to_plan,
)
from mlcore.preprocess import Plan

Shape = tuple[int, int]


@dataclass
class SlicePrediction:
    """One slice: labels (H, W) uint8 on its own grid, the active-learning scores of the same
    probabilities ({"entropy", "margin", "bald", "disagreement"}: float) and a feature vector (D,)
    for diversity (the class map pooled on a 4 x 4 grid)."""

    labels: np.ndarray
    scores: dict[str, float]
    features: np.ndarray


def _pooled(probs: np.ndarray, cells: int = 4) -> np.ndarray:
    """(K, H, W) -> (K * cells * cells,) mean probability per class and grid cell (numpy reference
    of `pooled_cells`)."""
    k, h, w = probs.shape
    rows = np.array_split(np.arange(h), cells)
    cols = np.array_split(np.arange(w), cells)
    return np.array([probs[:, r][:, :, c].mean(axis=(1, 2)) for r in rows for c in cols]).T.ravel()


def probs_back(probs: Tensor, shape: Shape) -> Tensor:
    """Probabilities (N, K, h, w) at plan spacing -> (N, K, *shape) on the slices' own grid:
    bilinear with pixel centres aligned (`align_corners=False` is `mlcore.preprocess.resize_image`'s
    convention, edges clamped like its mode="nearest"), renormalised to sum to 1 per pixel
    (`resample_probs_back` on a batch)."""
    out = probs if tuple(probs.shape[-2:]) == shape else F.interpolate(probs, size=shape, mode="bilinear")
    return out / out.sum(dim=1, keepdim=True).clamp_min(1e-8)


def labels_back(labels: Tensor, shape: Shape) -> Tensor:
    """Label maps (N, M, h, w) uint8 -> (N, M, *shape): nearest neighbour of the pixel centre
    (`nearest-exact` samples floor((o + 0.5) * h / H), what `resize_labels` samples, ties aside)."""
    if tuple(labels.shape[-2:]) == shape:
        return labels
    return F.interpolate(labels.float(), size=shape, mode="nearest-exact").to(torch.uint8)


def pooled_cells(probs: np.ndarray, cells: int = 4) -> np.ndarray:
    """(N, K, H, W) -> (N, K * cells * cells) mean per class and grid cell, the cells of
    `np.array_split` (class-major, like `_pooled`)."""
    rows = [(int(r[0]), int(r[-1]) + 1) for r in np.array_split(np.arange(probs.shape[2]), cells) if len(r)]
    cols = [(int(c[0]), int(c[-1]) + 1) for c in np.array_split(np.arange(probs.shape[3]), cells) if len(c)]
    means = [probs[:, :, r0:r1, c0:c1].mean(axis=(2, 3)) for r0, r1 in rows for c0, c1 in cols]
    return np.stack(means, axis=2).reshape(len(probs), -1)  # (N, K, cells * cells) -> (N, K * cells * cells)


def slice_scores(mean: np.ndarray, votes: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Mean probabilities (N, K, H, W) float32 and each model's labels (N, M, H, W) -> (labels
    (N, H, W) uint8, {"entropy", "margin", "disagreement"}: (N,), features (N, K * 16) float32):
    what `mlcore.active`'s mean_entropy, mean_margin and disagreement and numpy's argmax give.

    One pass over the classes keeps the running top two, the argmax and the entropy sum on (N, H, W)
    buffers: ~2.5x faster on this CPU than argmax, partition and entropy over the whole (N, K, H, W)
    array each (bench/RESULTS.md, "Pre-labelling")."""
    n, k = mean.shape[:2]
    top1 = mean[:, 0].copy()
    top2 = np.zeros_like(top1)
    labels = np.zeros(top1.shape, np.uint8)
    entropy = np.zeros_like(top1)
    term, low = np.empty_like(top1), np.empty_like(top1)
    for c in range(k):
        pc = mean[:, c]
        np.add(pc, EPS, out=term)
        np.log(term, out=term)
        term *= pc
        entropy -= term
        if c:
            np.copyto(labels, c, where=pc > top1)  # strictly greater: the first class on ties, as argmax
            np.minimum(top1, pc, out=low)
            np.maximum(top2, low, out=top2)
            np.maximum(top1, pc, out=top1)
    margin = (1.0 - (top1 - top2)).reshape(n, -1).mean(axis=1) if k >= 2 else np.zeros(n, np.float32)
    pairs = list(combinations(range(votes.shape[1]), 2))
    disagree = (
        np.mean([(votes[:, i] != votes[:, j]).reshape(n, -1).mean(axis=1) for i, j in pairs], axis=0)
        if pairs
        else np.zeros(n, np.float32)
    )
    scores = {"entropy": entropy.reshape(n, -1).mean(axis=1), "margin": margin, "disagreement": disagree}
    return labels, scores, pooled_cells(mean).astype(np.float32)


def _by_shape(keys: Sequence[tuple[int, ...]]) -> list[list[int]]:
    """Indices grouped by equal key, in first-seen order."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for n, key in enumerate(keys):
        groups.setdefault(key, []).append(n)
    return list(groups.values())


def prelabel_slices(
    models: Sequence[nn.Module],
    plans: Sequence[Plan],
    images: Sequence[np.ndarray],
    spacings: Sequence[Sequence[float]],
    mc_samples: int = 0,
    tta: bool = False,
    batch_size: int = 8,
    channels_last: bool = True,
) -> list[SlicePrediction]:
    """Pre-labels and scores from one pass per model: images (C, H, W) z-scored, spacings (row, col)
    mm -> one SlicePrediction per image, on the image's own grid.

    Models sharing a plan share one resampling and one set of windows; each window batch goes
    through every model once. The models' probabilities give the ensemble mean (resampled back once
    per plan), hence the labels, entropy and margin, and each model's labels give their
    disagreement (argmax at the plan's spacing, nearest-neighbour back to the slice's grid). BALD
    alone needs `mc_samples` extra MC-dropout passes (spread over the models)."""
    from mlcore.active import bald_from_moments

    shapes = [(int(np.shape(img)[1]), int(np.shape(img)[2])) for img in images]
    groups = _by_shape(shapes)  # slices of one grid are post-processed as one batch
    totals: list[Tensor | None] = [None] * len(groups)  # per group (N, K, H, W): sum over models
    votes: list[list[np.ndarray]] = [[] for _ in groups]  # per group, per plan (N, M, H, W) uint8
    for plan, indices in plan_groups(models, plans, images, spacings):
        patch = (int(plan.patch_size[0]), int(plan.patch_size[1]))
        per_model = sliding_window_probs_per_model(
            [models[i] for i in indices],
            to_plan(plan, images, spacings),
            patch,
            tta=tta,
            batch_size=batch_size,
            channels_last=channels_last,
        )  # [model][image] (K, h, w) at the plan's spacing
        for g, members in enumerate(groups):
            shape, count = shapes[members[0]], len(per_model)
            plan_votes = np.empty((len(members), count, *shape), np.uint8)
            # Slices of one grid have one grid at this plan too, but for rounding: sub-batches.
            for sub in _by_shape([per_model[0][n].shape for n in members]):
                # (n, M, K, h, w): these slices at the plan's spacing, every model of the plan
                stacked = np.stack([np.stack([p[members[i]] for p in per_model]) for i in sub])
                part = probs_back(torch.from_numpy(stacked.mean(axis=1)), shape).mul_(count)  # (n, K, H, W)
                if len(sub) == len(members) and totals[g] is None:
                    totals[g] = part
                else:
                    if totals[g] is None:
                        totals[g] = torch.zeros((len(members), *part.shape[1:]))
                    totals[g][sub] += part  # type: ignore[index]
                argmax = torch.from_numpy(stacked.argmax(axis=2).astype(np.uint8))  # (n, M, h, w)
                plan_votes[sub] = labels_back(argmax, shape).numpy()
            votes[g].append(plan_votes)
    mc: list[list[np.ndarray]] = []
    for s in range(mc_samples):
        i = s % len(models)
        mc.append(
            predict_slices(
                [models[i]], [plans[i]], images, spacings, mc_samples=1, channels_last=channels_last
            )
        )
    out: list[SlicePrediction | None] = [None] * len(images)
    for g, members in enumerate(groups):
        total = totals[g]
        assert total is not None
        mean = total.div_(len(models)).numpy()  # (N, K, H, W)
        model_votes = votes[g][0] if len(votes[g]) == 1 else np.concatenate(votes[g], axis=1)  # (N, M, H, W)
        labels, scores, features = slice_scores(mean, model_votes)
        for i, n in enumerate(members):
            bald = 0.0
            if mc:
                samples = np.stack([p[n] for p in mc])  # (S, K, H, W)
                bald = float(
                    bald_from_moments(samples.mean(axis=0)[None], entropy_map(samples).mean(axis=0)[None])[0]
                )
            out[n] = SlicePrediction(
                labels[i],
                {**{name: float(values[i]) for name, values in scores.items()}, "bald": bald},
                features[i],
            )
    return [p for p in out if p is not None]
