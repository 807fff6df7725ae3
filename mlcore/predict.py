"""Inference on in-memory arrays: one model or a fold ensemble (softmax averaged), optional
horizontal-flip test-time augmentation and MC-dropout sampling. CPU or CUDA (each model runs on
the device its weights are on), under `torch.inference_mode` and, by default, channels_last (models
are converted in place on first use; on the 2-core CPU it made the demo model's forward pass ~1.5x
faster, bench/RESULTS.md "Pre-labelling"). bf16 autocast stays CUDA-only (`amp`): on this CPU it was
~3x slower than fp32.

`predict_slices` is the plan-aware path used for validation, pre-labelling and the CLI: each slice is
resampled to its model's plan spacing, predicted by a sliding window of the plan's patch size
(Gaussian-weighted overlaps, like nnU-Net), and the probabilities are resampled back onto the
slice's own grid. `predict_batch` runs models on arrays exactly as given."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from mlcore.device import autocast, model_device
from mlcore.preprocess import Plan, resample_probs_back, resize_image

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
    out: np.ndarray = -(p * np.log(p + EPS)).sum(axis=-3).astype(np.float32)
    return out


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


def prepare_model(model: nn.Module, channels_last: bool = True) -> nn.Module:
    """The model in the memory format inference runs it in: channels_last, or contiguous when not
    (in place). Converted only when a 4-D weight is not in that format yet: `Module.to` walks every
    module and tensor even when nothing changes, ~3 ms per call on the demo model, once per batch."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    if not all(p.is_contiguous(memory_format=fmt) for p in model.parameters() if p.dim() == 4):
        model.to(memory_format=fmt)
    return model


def softmax_probs(
    model: nn.Module, images: Tensor, tta: bool = False, amp: bool = False, channels_last: bool = True
) -> Tensor:
    """Softmax of one forward pass (or the mean with its horizontal flip when tta), computed on the
    model's device. images (B, C, H, W) -> (B, K, H, W) float32 on the same device as `images`."""
    device = model_device(prepare_model(model, channels_last))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = images.to(device, dtype=torch.float32).contiguous(memory_format=fmt)

    def once(batch: Tensor) -> Tensor:
        with torch.inference_mode(), autocast(device, amp):
            out = model(batch)
        logits: Tensor = out[0] if isinstance(out, (list, tuple)) else out
        return logits.float().softmax(dim=1)

    probs = once(x)
    if tta:
        probs = (probs + once(x.flip(-1)).flip(-1)) / 2
    return probs.to(images.device)


def ensemble_probs(
    models: list[nn.Module],
    x: Tensor,
    tta: bool,
    mc_samples: int,
    amp: bool,
    channels_last: bool = True,
) -> np.ndarray:
    """Mean softmax (B, K, H, W) of a batch (B, C, H, W) over the models, and over flips (tta) and
    `mc_samples` MC-dropout passes per model when asked."""
    total: Tensor | None = None
    passes = 0
    for model in models:
        with inference_mode(model, mc_dropout=mc_samples > 0):
            for _ in range(max(1, mc_samples)):
                p = softmax_probs(model, x, tta=tta, amp=amp, channels_last=channels_last)
                total = p if total is None else total + p
                passes += 1
    assert total is not None
    return (total if passes == 1 else total / passes).numpy()


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
    channels_last: bool = True,
) -> BatchPrediction:
    """images (N, C, H, W) float32 (normalised like training) -> BatchPrediction.

    Probabilities are the mean softmax over models (fold ensemble), flips (tta) and, when
    mc_samples > 0, that many MC-dropout passes per model."""
    listed = as_model_list(models)
    arr = _check_images(images)
    labels, probs_out, entropy = [], [], []
    for start in range(0, len(arr), batch_size):
        x = torch.from_numpy(arr[start : start + batch_size])  # (B, C, H, W)
        mean = ensemble_probs(listed, x, tta, mc_samples, amp, channels_last)  # (B, K, H, W)
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


# --- plan-aware prediction ---------------------------------------------------------------------------
def gaussian_weights(patch: tuple[int, int], sigma_scale: float = 0.125) -> np.ndarray:
    """(P, Q) importance map for sliding-window overlaps: a Gaussian centred on the patch
    (sigma = patch / 8, nnU-Net's choice), scaled to max 1 and never 0."""
    axes = [np.exp(-0.5 * ((np.arange(n) - (n - 1) / 2) / (n * sigma_scale)) ** 2) for n in patch]
    weights = np.outer(axes[0], axes[1]).astype(np.float32)
    floored: np.ndarray = np.maximum(weights / weights.max(), 1e-3)
    return floored


def window_starts(length: int, patch: int, overlap: float = 0.5) -> list[int]:
    """Start offsets of windows of `patch` pixels covering `length` (>= patch) with ~overlap."""
    if length <= patch:
        return [0]
    count = int(np.ceil((length - patch) / (patch * (1 - overlap)))) + 1
    return [round(v) for v in np.linspace(0, length - patch, count)]


def _pad_to(image: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """Pad (C, H, W) symmetrically with each channel's minimum to at least `shape`; returns the
    padded image and the (top, left) offset of the original."""
    _, h, w = image.shape
    ph, pw = max(shape[0] - h, 0), max(shape[1] - w, 0)
    if not ph and not pw:
        return image, (0, 0)
    top, left = ph // 2, pw // 2
    pad = ((top, ph - top), (left, pw - left))
    return np.stack([np.pad(ch, pad, constant_values=float(ch.min())) for ch in image]), (top, left)


WindowRun = Callable[[Tensor], list[np.ndarray]]


def _window_sums(
    images: Sequence[np.ndarray], patch: tuple[int, int], batch_size: int, outputs: int, run: WindowRun
) -> list[list[np.ndarray]]:
    """Gaussian-weighted sliding windows of `patch` pixels over each (C, H, W) image, batched across
    images (every window has the patch's shape). `run(batch (B, C, P, Q))` returns `outputs` arrays
    (B, K, P, Q); the result is [output][image] -> (K, H, W) float32, the windows' weighted mean."""
    weights = gaussian_weights(patch)
    padded, windows = [], []
    for n, image in enumerate(images):
        arr, offset = _pad_to(np.asarray(image, dtype=np.float32), patch)
        padded.append((arr, offset, image.shape[1:]))
        for y in window_starts(arr.shape[1], patch[0]):
            for x in window_starts(arr.shape[2], patch[1]):
                windows.append((n, y, x))
    # An image that one window covers (the common case at the plan's spacing) is that window: its
    # weighted mean is the window itself, so it skips the weighting, the sums and the division.
    single = [p[0].shape[1:] == patch for p in padded]
    sums: list[list[np.ndarray | None]] = [[None] * len(padded) for _ in range(outputs)]
    norms = [np.zeros(p[0].shape[1:], np.float32) for p in padded]
    for start in range(0, len(windows), batch_size):
        chunk = windows[start : start + batch_size]
        batch = torch.from_numpy(
            np.stack([padded[n][0][:, y : y + patch[0], z : z + patch[1]] for n, y, z in chunk])
        )
        results = run(batch)  # outputs x (B, K, P, Q)
        for (n, y, z), *windows_out in zip(chunk, *results, strict=True):
            for o, window in enumerate(windows_out):
                if single[n]:
                    sums[o][n] = window
                    continue
                acc = sums[o][n]
                if acc is None:
                    acc = sums[o][n] = np.zeros((window.shape[0], *norms[n].shape), np.float32)
                acc[:, y : y + patch[0], z : z + patch[1]] += window * weights
            if not single[n]:
                norms[n][y : y + patch[0], z : z + patch[1]] += weights
    out: list[list[np.ndarray]] = []
    for per_image in sums:
        cropped = []
        for n, (acc, norm, (_, (top, left), (h, w))) in enumerate(zip(per_image, norms, padded, strict=True)):
            assert acc is not None
            mean = acc if single[n] else acc / norm
            cropped.append(mean[:, top : top + h, left : left + w])
        out.append(cropped)
    return out


def sliding_window_probs(
    models: Models,
    images: Sequence[np.ndarray],
    patch: tuple[int, int],
    tta: bool = False,
    mc_samples: int = 0,
    batch_size: int = 8,
    amp: bool = False,
    channels_last: bool = True,
) -> list[np.ndarray]:
    """Mean softmax over models (and flips / MC passes) of each (C, H, W) image, by Gaussian-weighted
    windows of `patch` pixels batched across images. Returns one (K, H, W) float32 per image."""
    listed = as_model_list(models)

    def run(batch: Tensor) -> list[np.ndarray]:
        return [ensemble_probs(listed, batch, tta, mc_samples, amp, channels_last)]

    return _window_sums(images, patch, batch_size, 1, run)[0]


def sliding_window_probs_per_model(
    models: Models,
    images: Sequence[np.ndarray],
    patch: tuple[int, int],
    tta: bool = False,
    batch_size: int = 8,
    amp: bool = False,
    channels_last: bool = True,
) -> list[list[np.ndarray]]:
    """Like `sliding_window_probs`, but each model's own softmax: [model][image] -> (K, H, W). The
    windows are cut once and every model runs on each batch (what pre-labelling needs for the
    ensemble mean and the models' disagreement)."""
    listed = as_model_list(models)

    def run(batch: Tensor) -> list[np.ndarray]:
        return [ensemble_probs([m], batch, tta, 0, amp, channels_last) for m in listed]

    return _window_sums(images, patch, batch_size, len(listed), run)


def plan_groups(
    models: Models,
    plans: Plan | Sequence[Plan],
    images: Sequence[np.ndarray],
    spacings: Sequence[Sequence[float]],
) -> list[tuple[Plan, list[int]]]:
    """Check the arguments of the plan-aware functions and group the models by plan: [(plan, model
    indices)] in first-seen order (models with equal plans share one resampling and one windowing)."""
    listed = as_model_list(models)
    plan_list = [plans] * len(listed) if isinstance(plans, Plan) else list(plans)
    if len(plan_list) != len(listed):
        raise ValueError(f"{len(plan_list)} plans for {len(listed)} models")
    if len(images) != len(spacings):
        raise ValueError(f"{len(images)} images but {len(spacings)} spacings")
    for image in images:
        if np.ndim(image) != 3:
            raise ValueError(f"each image must be (C, H, W), got shape {np.shape(image)}")
    groups: dict[str, tuple[Plan, list[int]]] = {}
    for index, plan in enumerate(plan_list):
        groups.setdefault(repr(plan), (plan, []))[1].append(index)
    return list(groups.values())


def to_plan(
    plan: Plan, images: Sequence[np.ndarray], spacings: Sequence[Sequence[float]]
) -> list[np.ndarray]:
    """Each (C, H, W) image resampled (bilinear) to the plan's spacing."""
    return [
        resize_image(np.asarray(img, np.float32), plan.slice_shape(np.shape(img)[1:], sp), order=1)
        for img, sp in zip(images, spacings, strict=True)
    ]


def predict_slices(
    models: Models,
    plans: Plan | Sequence[Plan],
    images: Sequence[np.ndarray],
    spacings: Sequence[Sequence[float]],
    tta: bool = False,
    mc_samples: int = 0,
    batch_size: int = 8,
    amp: bool = False,
    channels_last: bool = True,
) -> list[np.ndarray]:
    """Plan-aware ensemble probabilities: images (C, H, W) normalised like training, each with its
    (row, col) mm spacing -> one (K, H, W) float32 per image on the image's own grid.

    `plans` is one Plan for all models or one per model (models with equal plans run together)."""
    listed = as_model_list(models)
    totals: list[np.ndarray] | None = None
    for plan, indices in plan_groups(listed, plans, images, spacings):
        members = [listed[i] for i in indices]
        patch = (int(plan.patch_size[0]), int(plan.patch_size[1]))
        probs = sliding_window_probs(
            members, to_plan(plan, images, spacings), patch, tta, mc_samples, batch_size, amp, channels_last
        )
        native = [
            resample_probs_back(p, np.shape(img)[1:]) * len(members)
            for p, img in zip(probs, images, strict=True)
        ]
        totals = native if totals is None else [t + n for t, n in zip(totals, native, strict=True)]
    assert totals is not None
    return [t / len(listed) for t in totals]


# --- test-time batch-norm statistics (AdaBN) -----------------------------------------------------------
NormStats = list[tuple[Tensor, Tensor]]


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The model's BatchNorm layers in module order: what `adapt_batchnorm` re-estimates (none when the
    model was built with `norm="instance"`)."""
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def batchnorm_statistics(
    model: nn.Module,
    plan: Plan,
    images: Sequence[np.ndarray],
    spacings: Sequence[Sequence[float]],
    batch_size: int = 8,
) -> NormStats:
    """(mean, variance) of every BatchNorm layer's input, in module order, on these images cut exactly
    as `predict_slices` cuts them (resampled to the plan's spacing, windows of its patch size with half
    overlap), batched by `batch_size` like training's patches: each layer normalised by its batch's own
    statistics, as in training, and the statistics averaged over the batches. No label, no gradient;
    `model` is untouched."""
    if not images:
        raise ValueError("BatchNorm statistics need at least one image")
    plan_groups(model, plan, images, spacings)  # the same checks as predict_slices
    probe = copy.deepcopy(model)
    norms = batchnorm_layers(probe)
    if not norms:
        raise ValueError("the model has no BatchNorm layer to adapt")
    probe.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the batches below
        norm.train()
    patch = (int(plan.patch_size[0]), int(plan.patch_size[1]))
    device = model_device(probe)
    windows = []
    for image in to_plan(plan, images, spacings):
        arr, _ = _pad_to(np.asarray(image, np.float32), patch)
        for y in window_starts(arr.shape[1], patch[0]):
            for x in window_starts(arr.shape[2], patch[1]):
                windows.append(arr[:, y : y + patch[0], x : x + patch[1]])
    with torch.no_grad():
        for start in range(0, len(windows), batch_size):
            probe(torch.from_numpy(np.stack(windows[start : start + batch_size])).to(device))
    return [(n.running_mean.clone(), n.running_var.clone()) for n in norms]  # type: ignore[union-attr]


def adapt_batchnorm(
    model: nn.Module,
    plan: Plan,
    images: Sequence[np.ndarray],
    spacings: Sequence[Sequence[float]],
    reference: NormStats | None = None,
    batch_size: int = 8,
) -> nn.Module:
    """A copy of `model` in eval mode whose BatchNorm statistics come from these images (AdaBN, Li et
    al. 2016, "Revisiting batch normalization for practical domain adaptation"): weights, dropout and
    `model` itself untouched.

    Without `reference` each layer's statistics become the images' own (`batchnorm_statistics`). With
    `reference`, the statistics of the model's training slices measured the same way, only the
    difference between the two is applied to the stored statistics (mean + target - reference,
    variance x target / reference), so that whole-slice windows against training's augmented,
    foreground-weighted patches do not count as a shift. On left-out sites it gained about half as
    much as the scan's own statistics on VB3; the benchmark uses it, `predict --adapt-bn` does not
    (bench/RESULTS.md, "Test-time batch-norm statistics")."""
    target = batchnorm_statistics(model, plan, images, spacings, batch_size)
    if reference is not None and len(reference) != len(target):
        raise ValueError(
            f"reference statistics for {len(reference)} BatchNorm layers, the model has {len(target)}"
        )
    adapted = copy.deepcopy(model).eval()
    for n, (norm, (mean, var)) in enumerate(zip(batchnorm_layers(adapted), target, strict=True)):
        assert norm.running_mean is not None and norm.running_var is not None
        if reference is None:
            norm.running_mean.copy_(mean)
            norm.running_var.copy_(var)
        else:
            ref_mean, ref_var = reference[n]
            norm.running_mean.add_(mean - ref_mean)
            norm.running_var.mul_(var.clamp_min(norm.eps) / ref_var.clamp_min(norm.eps))
    return adapted
