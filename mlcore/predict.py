"""Inference on in-memory arrays: one model or a fold ensemble (softmax averaged), optional
horizontal-flip test-time augmentation and MC-dropout sampling. No gradients; CPU or CUDA
(each model runs on the device its weights are on)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from mlcore.device import autocast, model_device

EPS = 1e-12
Models = nn.Module | Sequence[nn.Module]


@dataclass
class Prediction:
    """One slice: labels (H, W) uint8, probs (K, H, W) float32, entropy (H, W) float32 (nats)."""

    labels: np.ndarray
    probs: np.ndarray
    entropy: np.ndarray


@dataclass
class BatchPrediction:
    """N slices: labels (N, H, W) uint8, probs (N, K, H, W) float32, entropy (N, H, W) float32."""

    labels: np.ndarray
    probs: np.ndarray
    entropy: np.ndarray

    def __getitem__(self, index: int) -> Prediction:
        return Prediction(self.labels[index], self.probs[index], self.entropy[index])


def as_model_list(models: Models) -> list[nn.Module]:
    listed = [models] if isinstance(models, nn.Module) else list(models)
    if not listed:
        raise ValueError("predict needs at least one model")
    return listed


def entropy_map(probs: np.ndarray) -> np.ndarray:
    """Pixel entropy -sum_k p log p over the class axis: (..., K, H, W) -> (..., H, W) float32."""
    p = np.asarray(probs, dtype=np.float32)
    return -(p * np.log(p + EPS)).sum(axis=-3).astype(np.float32)


def _is_dropout(module: nn.Module) -> bool:
    return isinstance(module, nn.modules.dropout._DropoutNd)


@contextlib.contextmanager
def inference_mode(model: nn.Module, mc_dropout: bool = False) -> Iterator[nn.Module]:
    """Eval mode for the block (only dropout modules in train mode when mc_dropout); the previous
    modes are restored afterwards."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    if mc_dropout:
        for module in model.modules():
            if _is_dropout(module):
                module.train()
    try:
        yield model
    finally:
        for module, mode in modes.items():
            module.training = mode


@torch.no_grad()
def softmax_probs(model: nn.Module, images: Tensor, tta: bool = False, amp: bool = False) -> Tensor:
    """Softmax of one forward pass (or the mean with its horizontal flip when tta), computed on the
    model's device. images (B, C, H, W) -> (B, K, H, W) float32 on the same device as `images`."""
    device = model_device(model)
    x = images.to(device, dtype=torch.float32)

    def once(batch: Tensor) -> Tensor:
        with autocast(device, amp):
            out = model(batch)
        logits = out[0] if isinstance(out, (list, tuple)) else out
        return logits.float().softmax(dim=1)

    probs = once(x)
    if tta:
        probs = (probs + once(x.flip(-1)).flip(-1)) / 2
    return probs.to(images.device)


def _check_images(images: np.ndarray) -> np.ndarray:
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {arr.shape}")
    return arr


def predict_batch(
    models: Models,
    images: np.ndarray,
    tta: bool = False,
    mc_samples: int = 0,
    batch_size: int = 8,
    amp: bool = False,
) -> BatchPrediction:
    """images (N, C, H, W) float32 (normalised like training) -> BatchPrediction.

    Probabilities are the mean softmax over models (fold ensemble), flips (tta) and, when
    mc_samples > 0, that many MC-dropout passes per model."""
    listed = as_model_list(models)
    arr = _check_images(images)
    labels, probs_out, entropy = [], [], []
    for start in range(0, len(arr), batch_size):
        x = torch.from_numpy(arr[start : start + batch_size])  # (B, C, H, W)
        total: Tensor | None = None
        passes = 0
        for model in listed:
            with inference_mode(model, mc_dropout=mc_samples > 0):
                for _ in range(max(1, mc_samples)):
                    p = softmax_probs(model, x, tta=tta, amp=amp)
                    total = p if total is None else total + p
                    passes += 1
        assert total is not None
        mean = (total / passes).numpy()  # (B, K, H, W)
        probs_out.append(mean.astype(np.float32))
        labels.append(mean.argmax(axis=1).astype(np.uint8))
        entropy.append(entropy_map(mean))
    if not probs_out:
        raise ValueError("images is empty (N = 0)")
    return BatchPrediction(np.concatenate(labels), np.concatenate(probs_out), np.concatenate(entropy))


def predict(
    models: Models,
    image: np.ndarray,
    tta: bool = False,
    mc_samples: int = 0,
    batch_size: int = 8,
    amp: bool = False,
) -> Prediction | BatchPrediction:
    """image (C, H, W) -> Prediction; a stack (N, C, H, W) -> BatchPrediction (see predict_batch)."""
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim == 4:
        return predict_batch(models, arr, tta, mc_samples, batch_size, amp)
    if arr.ndim != 3:
        raise ValueError(f"image must be (C, H, W) or (N, C, H, W), got shape {arr.shape}")
    return predict_batch(models, arr[None], tta, mc_samples, batch_size, amp)[0]
