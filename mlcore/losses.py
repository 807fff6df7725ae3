"""Segmentation losses: cross-entropy, soft Dice + CE, and the deep-supervision weighted sum.

Targets may contain `IGNORE_INDEX` (outside the slice, or truth unknown); those pixels count in
neither term. A batch may say, per sample, which classes its source never labelled (`unlabelled`,
(B, K) bool): then the marginal loss (Shi et al. 2021) merges those classes' probabilities into
background for that sample, so a class absent from one data set's masks is not taught as background.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

IGNORE_INDEX = -100
LossFn = Callable[..., Tensor]


def marginal_probs(logits: Tensor, unlabelled: Tensor | None) -> Tensor:
    """Softmax (B, K, H, W); where unlabelled[b, c] the probability of class c moves to background."""
    probs = logits.float().softmax(dim=1)
    if unlabelled is None:
        return probs
    drop = unlabelled.to(probs.dtype)[:, :, None, None]  # (B, K, 1, 1)
    moved = (probs * drop).sum(dim=1)  # (B, H, W)
    probs = probs * (1 - drop)
    return torch.cat([probs[:, :1] + moved.unsqueeze(1), probs[:, 1:]], dim=1)


def soft_dice_loss(
    logits: Tensor, target: Tensor, unlabelled: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """1 - mean soft Dice over the classes present in the batch (nnU-Net's batch Dice).

    logits (B, K, H, W), target (B, H, W) int64, unlabelled (B, K) bool or None -> scalar."""
    num_classes = logits.shape[1]
    valid = (target != IGNORE_INDEX).unsqueeze(1)  # (B, 1, H, W)
    probs = marginal_probs(logits, unlabelled) * valid
    onehot = F.one_hot(target.clamp(min=0), num_classes).permute(0, 3, 1, 2).float() * valid  # (B, K, H, W)
    dims = (0, 2, 3)
    intersection = (probs * onehot).sum(dims)
    denominator = probs.sum(dims) + onehot.sum(dims)
    dice = (2 * intersection + eps) / (denominator + eps)  # (K,)
    present = onehot.sum(dims) > 0
    if not bool(present.any()):
        return logits.sum() * 0.0
    return 1.0 - dice[present].mean()


def cross_entropy(logits: Tensor, target: Tensor, unlabelled: Tensor | None = None) -> Tensor:
    """Pixel-wise CE; logits (B, K, H, W), target (B, H, W), unlabelled (B, K) bool or None -> scalar."""
    if unlabelled is None:
        return F.cross_entropy(logits.float(), target, ignore_index=IGNORE_INDEX)
    log_probs = marginal_probs(logits, unlabelled).clamp_min(1e-8).log()
    return F.nll_loss(log_probs, target, ignore_index=IGNORE_INDEX)


def dice_ce(logits: Tensor, target: Tensor, unlabelled: Tensor | None = None) -> Tensor:
    """Soft Dice + CE with equal weights (the nnU-Net default)."""
    return cross_entropy(logits, target, unlabelled) + soft_dice_loss(logits, target, unlabelled)


LOSSES: dict[str, LossFn] = {"ce": cross_entropy, "dice_ce": dice_ce}


def get_loss(name: str) -> LossFn:
    """ "ce" | "dice_ce" -> loss function; ValueError naming the choices otherwise."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}: choose one of {sorted(LOSSES)}") from None


def default_ds_weights(n: int) -> list[float]:
    """1.0 for the final head, then halving for each auxiliary head: 1, 0.5, 0.25, ..."""
    return [0.5**i for i in range(n)]


def resize_target(target: Tensor, size: tuple[int, int]) -> Tensor:
    """Nearest-neighbour resize of a label map (B, H, W) int64 to (B, h, w)."""
    if tuple(target.shape[-2:]) == tuple(size):
        return target
    resized = F.interpolate(target.unsqueeze(1).float(), size=size, mode="nearest")
    return resized.squeeze(1).long()


def supervised_loss(
    outputs: Tensor | Sequence[Tensor],
    target: Tensor,
    loss_fn: LossFn,
    ds_weights: Sequence[float] | None = None,
    unlabelled: Tensor | None = None,
) -> Tensor:
    """Loss of one forward pass: a tensor (B, K, H, W), or a deep-supervision list (final first, then
    lower-resolution heads); each head sees the target resized by nearest to its own resolution and
    the terms are summed with `ds_weights` (default 1, 0.5, 0.25, ...; missing weights are 0)."""
    if isinstance(outputs, Tensor):
        return loss_fn(outputs, target, unlabelled)
    weights = list(ds_weights) if ds_weights is not None else default_ds_weights(len(outputs))
    total = outputs[0].new_zeros((), dtype=torch.float32)
    for head, weight in zip(outputs, weights, strict=False):
        if weight:
            total = total + weight * loss_fn(
                head, resize_target(target, (int(head.shape[-2]), int(head.shape[-1]))), unlabelled
            )
    return total
