"""Pre-labelling with active-learning scores: one pass per model gives the pre-label, its scores and
a feature vector for diversity (`prelabel_slices`, the pre-label job's mlcore call).

The post-processing after the forward passes runs slice by slice in torch, on the process's
threads: the probabilities go back onto the slice's grid with bilinear `F.interpolate` (where scipy
resampled each class of each slice on one core), then vectorised kernels give the labels, entropy
and margin; one slice's (K, H, W) array stays in cache through all of it. The pooled features and the
models' disagreement need no resampling: they are computed exactly on the plan's grid
(bench/RESULTS.md, "Pre-labelling"). It gives what the per-slice numpy/scipy path gave:
probabilities equal to ~1e-6, labels equal but for near-ties
(tests/mlcore/test_prelabel_batched.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
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
    of `pooled_from_plan`)."""
    k, h, w = probs.shape
    rows = np.array_split(np.arange(h), cells)
    cols = np.array_split(np.arange(w), cells)
    return np.array([probs[:, r][:, :, c].mean(axis=(1, 2)) for r in rows for c in cols]).T.ravel()


def probs_back(probs: Tensor, shape: Shape) -> Tensor:
    """Probabilities (N, K, h, w) at plan spacing -> (N, K, *shape) on the slices' own grid:
    bilinear with pixel centres aligned (`align_corners=False` is `mlcore.preprocess.resize_image`'s
    convention, edges clamped like its mode="nearest"). Bilinear weights are non-negative and sum
    to one, so classes that summed to one still do (to float rounding): `resample_probs_back`'s
    renormalisation is a no-op here and costs a pass over the array, so it is left out."""
    if tuple(probs.shape[-2:]) == shape:
        return probs
    return F.interpolate(probs, size=shape, mode="bilinear")


def labels_back(labels: Tensor, shape: Shape) -> Tensor:
    """Label maps (N, M, h, w) uint8 -> (N, M, *shape): nearest neighbour of the pixel centre
    (`nearest-exact` samples floor((o + 0.5) * h / H), what `resize_labels` samples, ties aside)."""
    if tuple(labels.shape[-2:]) == shape:
        return labels
    return F.interpolate(labels.float(), size=shape, mode="nearest-exact").to(torch.uint8)


@lru_cache(maxsize=64)
def _resampling(size: int, length: int) -> Tensor:
    """(length, size) float64: row o holds the weights `probs_back` gives each of `size` input
    pixels for output pixel o. Got by resampling the identity with the same call, so the
    convention cannot drift."""
    eye = torch.eye(size).view(1, size, size, 1)  # channel j: the unit vector j along the rows
    return F.interpolate(eye, size=(length, 1), mode="bilinear")[0, :, :, 0].T.double()


@lru_cache(maxsize=64)
def _cell_weights(size: int, length: int, cells: int) -> Tensor:
    """(cells, size) float64: the mean over each `np.array_split` cell of the `length` output pixels
    of their bilinear weights on the `size` input pixels."""
    parts = [part for part in np.array_split(np.arange(length), cells) if len(part)]
    rows = _resampling(size, length)
    return torch.stack([rows[int(part[0]) : int(part[-1]) + 1].mean(dim=0) for part in parts])


def pooled_from_plan(probs: Tensor, shape: Shape, cells: int = 4) -> Tensor:
    """Probabilities (N, K, h, w) at a plan's spacing -> (N, K * cells * cells) float32: the mean per
    class and grid cell (the cells of `np.array_split`, class-major like `_pooled`) of
    `probs_back(probs, shape)`, computed without resampling: resampling and cell means are linear,
    so the cell means are (cells x h) @ probs @ (w x cells)."""
    rows, cols = (
        _cell_weights(probs.shape[2], shape[0], cells),
        _cell_weights(probs.shape[3], shape[1], cells),
    )
    return (rows.float() @ probs @ cols.float().T).reshape(len(probs), -1)


@lru_cache(maxsize=64)
def _nearest_counts(size: int, length: int) -> Tensor:
    """(size,) float64: how many of `length` output pixels `labels_back` takes from each input pixel."""
    source = F.interpolate(
        torch.arange(size, dtype=torch.float32).view(1, 1, size, 1), size=(length, 1), mode="nearest-exact"
    )
    return torch.bincount(source.view(-1).long(), minlength=size).double()


def plan_disagreement(votes: Tensor, shape: Shape) -> float:
    """Labels (M, h, w) of models sharing a plan -> the mean over model pairs of the fraction of the
    slice's own grid (`shape`) where the two differ once `labels_back` resampled them: computed on
    the plan's grid, each plan pixel weighted by the slice pixels that sample it (exact: nearest
    neighbour resamples both maps alike)."""
    m, h, w = votes.shape
    pairs = list(combinations(range(m), 2))
    if not pairs:
        return 0.0
    weights = torch.outer(_nearest_counts(h, shape[0]), _nearest_counts(w, shape[1])) / (shape[0] * shape[1])
    return float(sum(float(((votes[i] != votes[j]) * weights).sum()) for i, j in pairs) / len(pairs))


def first_argmax(probs: Tensor) -> tuple[Tensor, Tensor]:
    """(N, K, H, W) -> the top value (N, H, W) and the first class reaching it (N, H, W) uint8, what
    numpy's argmax gives on ties: `amax` and a comparison, where `Tensor.max(dim)` with indices is
    a scalar loop on CPU (~10x slower here)."""
    k = probs.shape[1]
    top = probs.amax(dim=1, keepdim=True)
    reversed_rank = torch.arange(k, 0, -1, dtype=torch.uint8).view(k, 1, 1)  # K .. 1: first class wins
    labels = (k - ((probs == top) * reversed_rank).amax(dim=1)).clamp_(max=k - 1)  # NaN rows: last class
    return top[:, 0], labels.to(torch.uint8)


def native_scores(mean: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Mean probabilities (N, K, H, W) float32 on the slices' grid -> (labels (N, H, W) uint8,
    entropy (N,), margin (N,)): numpy's argmax and `mlcore.active`'s mean_entropy and mean_margin.

    Vectorised torch on the process's threads: -p log(p + eps) in place on one temporary, the
    labels and top probability from `first_argmax`, the runner-up with the winner masked. Called
    on one slice at a time, the (K, H, W) array stays in cache between the passes (bench/RESULTS.md,
    "Pre-labelling")."""
    n, k = mean.shape[:2]
    entropy = mean.add(EPS).log_().mul_(mean).sum(dim=1).reshape(n, -1).mean(dim=1).neg_()
    top1, labels = first_argmax(mean)
    if k >= 2:
        top2 = mean.scatter(1, labels[:, None].long(), -1.0).amax(dim=1)
        margin = (1.0 - (top1 - top2)).reshape(n, -1).mean(dim=1)
    else:
        margin = torch.zeros(n)
    return labels, entropy, margin


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
    # Per slice, per plan: the plan's models' mean probability at its spacing (1, K, h, w), its
    # weight in the ensemble (its share of the models) and its models' labels there (M, h, w).
    low: list[list[tuple[Tensor, float, Tensor]]] = [[] for _ in images]
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
        for n in range(len(images)):
            stacked = torch.from_numpy(np.stack([p[n] for p in per_model]))  # (M, K, h, w)
            low[n].append(
                (stacked.mean(dim=0, keepdim=True), len(per_model) / len(models), first_argmax(stacked)[1])
            )
    mc: list[list[np.ndarray]] = []
    for s in range(mc_samples):
        i = s % len(models)
        mc.append(
            predict_slices(
                [models[i]], [plans[i]], images, spacings, mc_samples=1, channels_last=channels_last
            )
        )
    out: list[SlicePrediction] = []
    # Slice by slice: the native-grid (K, H, W) probabilities stay in cache from resampling to scores
    # (a whole batch of them does not, and costs ~1.5x; bench/RESULTS.md, "Pre-labelling"). The
    # pooled features, and the disagreement of models sharing a plan, come from the plan's grid.
    for n, shape in enumerate(shapes):
        if len(low[n]) == 1:  # one plan: its mean is the ensemble's
            mean = probs_back(low[n][0][0], shape)
            disagree = plan_disagreement(low[n][0][2], shape)
        else:  # plans weighted by their models; votes compared on the slice's grid
            mean = torch.stack([probs_back(m, shape) * weight for m, weight, _ in low[n]]).sum(dim=0)
            disagree = plan_disagreement(
                torch.cat([labels_back(v[None], shape)[0] for _, _, v in low[n]]), shape
            )
        labels, entropy, margin = native_scores(mean)
        features = torch.stack([pooled_from_plan(m, shape)[0] * weight for m, weight, _ in low[n]]).sum(dim=0)
        bald = 0.0
        if mc:
            samples = np.stack([p[n] for p in mc])  # (S, K, H, W)
            bald = float(
                bald_from_moments(samples.mean(axis=0)[None], entropy_map(samples).mean(axis=0)[None])[0]
            )
        scores = {
            "entropy": float(entropy[0]),
            "margin": float(margin[0]),
            "disagreement": disagree,
            "bald": bald,
        }
        out.append(SlicePrediction(labels[0].numpy(), scores, features.numpy().astype(np.float32)))
    return out
