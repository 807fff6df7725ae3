"""Training one fold and patient-level k-fold cross-validation.

Validation follows the paper's metric: one confusion matrix accumulated over every pixel of the
fold's whole validation slices; the epoch with the best mean IoU (without background) is kept.
The same code runs on CPU (fp32, deterministic with a seed) and CUDA (bf16 autocast,
channels_last, pinned-memory loader with workers).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from mlcore import metrics
from mlcore.data import Sample, SliceDataset
from mlcore.device import autocast, memory_format, resolve_device, seed_everything
from mlcore.losses import IGNORE_INDEX, get_loss, supervised_loss
from mlcore.models import MODELS, build_model, make_optimiser

Progress = Callable[[dict[str, Any]], None]
ShouldStop = Callable[[], bool]


class TrainingStopped(Exception):
    """Raised inside training when `should_stop()` returned True (a cancelled job)."""


@dataclass
class TrainConfig:
    """Everything needed to rebuild and retrain a model; stored in every checkpoint."""

    arch: str = "UVD"
    in_channels: int = 1
    num_classes: int = 12
    class_names: list[str] = field(default_factory=list)
    epochs: int = 10
    batch_size: int = 8
    lr: float | None = None  # None -> the spec's learning rate
    optimiser: str | None = None  # None -> the spec's optimiser ("Adam", "RMSprop", "Adadelta")
    loss: str = "dice_ce"  # "ce" | "dice_ce"
    patch_size: int | None = None  # None -> whole slices; 256 = the paper's patches
    augment: bool = True
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    amp: bool = True  # bf16 autocast, CUDA only
    channels_last: bool = True  # CUDA and CPU (faster on both, see docs/mlcore.md)
    num_workers: int = 0
    ds_weights: list[float] | None = None  # deep-supervision weights: final head first
    model_overrides: dict[str, Any] = field(default_factory=dict)  # e.g. {"filters": 8}

    def __post_init__(self) -> None:
        if not self.class_names:
            self.class_names = [f"class_{i}" for i in range(self.num_classes)]
        if len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class names for num_classes={self.num_classes}")
        if self.arch not in MODELS:
            raise ValueError(f"unknown arch {self.arch!r}: choose one of {sorted(MODELS)}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        get_loss(self.loss)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of to_dict; unknown keys (from a newer version) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def build(self) -> nn.Module:
        """A freshly initialised model for this config."""
        return build_model(self.arch, self.in_channels, self.num_classes, **self.model_overrides)


@dataclass
class FoldResult:
    """Best epoch of one fold: weights (CPU), confusion (K, K) int64, IoU (K,) float (nan = absent)."""

    state_dict: dict[str, Tensor]
    confusion: np.ndarray
    iou: np.ndarray
    history: list[dict[str, Any]]
    seconds: float
    best_epoch: int = 0


@dataclass
class CVResult:
    folds: list[FoldResult]
    report: dict[str, Any]


def _to_tensor(x: Any, dtype: torch.dtype) -> Tensor:
    return x.to(dtype) if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x)).to(dtype)


def pad_collate(batch: Sequence[tuple[Any, Any]]) -> tuple[Tensor, Tensor]:
    """Stack (image (C,H,W), mask (H,W)) pairs into (B,C,H,W), (B,H,W); slices of different sizes
    are zero-padded to the largest, their padding masked with IGNORE_INDEX."""
    images = [_to_tensor(b[0], torch.float32) for b in batch]
    masks = [_to_tensor(b[1], torch.int64) for b in batch]
    height = max(i.shape[-2] for i in images)
    width = max(i.shape[-1] for i in images)
    out_i = torch.zeros(len(images), images[0].shape[0], height, width)
    out_m = torch.full((len(masks), height, width), IGNORE_INDEX, dtype=torch.int64)
    for n, (image, mask) in enumerate(zip(images, masks, strict=True)):
        out_i[n, :, : image.shape[-2], : image.shape[-1]] = image
        out_m[n, : mask.shape[-2], : mask.shape[-1]] = mask
    return out_i, out_m


def _seed_worker(worker_id: int) -> None:
    seed = torch.initial_seed() % (2**32)
    np.random.seed(seed)


def make_loader(cfg: TrainConfig, samples: list[Sample], device: torch.device) -> DataLoader:
    """Shuffled training loader; pinned memory and workers only pay off on CUDA."""
    dataset = SliceDataset(samples, augment=cfg.augment, patch_size=cfg.patch_size, seed=cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    return DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        shuffle=True,
        drop_last=len(dataset) > cfg.batch_size,
        num_workers=cfg.num_workers,
        pin_memory=device.type == "cuda",
        persistent_workers=cfg.num_workers > 0,
        collate_fn=pad_collate,
        worker_init_fn=_seed_worker,
        generator=generator,
    )


@torch.no_grad()
def evaluate(model: nn.Module, samples: list[Sample], cfg: TrainConfig, device: torch.device) -> np.ndarray:
    """Confusion matrix (K, K) over all pixels of the whole validation slices (paper's metric)."""
    k = cfg.num_classes
    confusion = np.zeros((k, k), dtype=np.int64)
    model.eval()
    fmt = memory_format(device, cfg.channels_last)
    # Group by shape so whole slices batch without padding.
    by_shape: dict[tuple[int, ...], list[Sample]] = {}
    for sample in samples:
        if sample.mask is not None:
            by_shape.setdefault(tuple(np.shape(sample.image)), []).append(sample)
    for group in by_shape.values():
        for start in range(0, len(group), cfg.batch_size):
            chunk = group[start : start + cfg.batch_size]
            x = torch.from_numpy(np.stack([s.image for s in chunk]).astype(np.float32))
            x = x.to(device, non_blocking=True).contiguous(memory_format=fmt)  # (B, C, H, W)
            with autocast(device, cfg.amp):
                out = model(x)
            logits = out[0] if isinstance(out, (list, tuple)) else out
            pred = logits.argmax(dim=1).cpu().numpy()  # (B, H, W)
            for p, s in zip(pred, chunk, strict=True):
                confusion += metrics.confusion_matrix(p, np.asarray(s.mask), k)
    return confusion


def _score(confusion: np.ndarray) -> float:
    value = float(metrics.mean_iou(confusion, include_background=False))
    return value if np.isfinite(value) else -1.0


def train_fold(
    cfg: TrainConfig,
    train: list[Sample],
    val: list[Sample],
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    fold: int = 0,
) -> FoldResult:
    """Train on `train`, validate each epoch on `val` (whole slices); keep the best epoch by mean IoU.

    progress(dict(fold, epoch, epochs, step, steps, loss, eta_seconds)) after every step (1-based
    epoch and step); should_stop() is checked before every step and raises TrainingStopped."""
    if not train:
        raise ValueError("no training samples")
    if not any(s.mask is not None for s in val):
        raise ValueError("no labelled validation samples")
    started = time.perf_counter()
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    fmt = memory_format(device, cfg.channels_last)
    model = cfg.build().to(device).to(memory_format=fmt)  # type: ignore[call-overload]
    spec = getattr(model, "spec", MODELS[cfg.arch])  # includes model_overrides
    if cfg.optimiser:
        spec = dataclasses.replace(spec, optimiser=cfg.optimiser)
    optimiser = make_optimiser(spec, model.parameters(), lr=cfg.lr)
    loss_fn = get_loss(cfg.loss)
    loader = make_loader(cfg, [s for s in train if s.mask is not None], device)
    steps = len(loader)
    total_steps = steps * cfg.epochs
    best_state: dict[str, Tensor] = {}
    best_cm = np.zeros((cfg.num_classes, cfg.num_classes), dtype=np.int64)
    best_score, best_epoch = -np.inf, 0
    history: list[dict[str, Any]] = []
    done = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        losses: list[float] = []
        for step, (images, masks) in enumerate(loader, start=1):
            if should_stop is not None and should_stop():
                raise TrainingStopped(f"stopped at fold {fold} epoch {epoch} step {step}")
            x = images.to(device, non_blocking=True).contiguous(memory_format=fmt)  # (B, C, H, W)
            y = masks.to(device, non_blocking=True)  # (B, H, W)
            optimiser.zero_grad(set_to_none=True)
            with autocast(device, cfg.amp):
                out = model(x)
            loss = supervised_loss(out, y, loss_fn, cfg.ds_weights)
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
            done += 1
            if progress is not None:
                elapsed = time.perf_counter() - started
                eta = elapsed / done * (total_steps - done)
                progress(
                    dict(
                        fold=fold,
                        epoch=epoch,
                        epochs=cfg.epochs,
                        step=step,
                        steps=steps,
                        loss=losses[-1],
                        eta_seconds=eta,
                    )
                )
        confusion = evaluate(model, val, cfg, device)
        score = _score(confusion)
        history.append(
            dict(
                epoch=epoch,
                loss=float(np.mean(losses)) if losses else float("nan"),
                val_mean_iou=score,
                iou=[_nan_to_none(v) for v in metrics.iou_per_class(confusion)],
                seconds=time.perf_counter() - started,
            )
        )
        if score > best_score:
            best_score, best_epoch, best_cm = score, epoch, confusion
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    return FoldResult(
        state_dict=copy.deepcopy(best_state),
        confusion=best_cm,
        iou=np.asarray(metrics.iou_per_class(best_cm), dtype=float),
        history=history,
        seconds=time.perf_counter() - started,
        best_epoch=best_epoch,
    )


def _nan_to_none(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def split_by_subjects(
    samples: list[Sample], val_subjects: Sequence[str]
) -> tuple[list[Sample], list[Sample]]:
    """(train, val): every slice of a validation subject goes to val, all others to train."""
    chosen = set(val_subjects)
    train = [s for s in samples if s.subject not in chosen]
    val = [s for s in samples if s.subject in chosen]
    assert not ({s.subject for s in train} & {s.subject for s in val}), "a subject straddles train and val"
    return train, val


def cross_validate(
    cfg: TrainConfig,
    samples: list[Sample],
    folds: Sequence[Sequence[str]],
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> CVResult:
    """Patient-level k-fold CV: folds[i] lists the validation subjects of fold i (mlcore.folds)."""
    results: list[FoldResult] = []
    for index, val_subjects in enumerate(folds):
        train, val = split_by_subjects(samples, val_subjects)
        if not val:
            raise ValueError(f"fold {index} has no validation slices (subjects {list(val_subjects)})")
        results.append(train_fold(cfg, train, val, progress, should_stop, fold=index))
    report = metrics.cv_report([r.confusion for r in results], cfg.class_names)
    return CVResult(folds=results, report=report)
