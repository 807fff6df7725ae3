"""Training one fold and patient-level k-fold cross-validation with SpineLab's recipe.

The recipe (nnU-Net's ideas, sized for few slices and small machines):
- epochs of a fixed number of optimiser steps (`steps_per_epoch`), independent of the data set's
  size, so 4 labelled slices train as long as 400 do;
- AdamW with a poly learning-rate decay (the paper's per-network optimisers stay available as
  `optimiser="paper"`);
- Dice + CE with deep-supervision weights; partially labelled masks (a class the source never
  labelled) use the marginal loss, so an unlabelled class is never taught as background;
- slices resampled to the plan's spacing (`mlcore.preprocess.Plan`, fitted to the data), patches
  sampled foreground-aware and augmented (`mlcore.augment`);
- validation by sliding-window inference at the plan's spacing, probabilities resampled back onto
  each slice's own grid and scored there with the paper's IoU. The reported fold score is that of the
  FINAL weights: no epoch is picked on the validation fold, so the CV figure is not optimistic.

The same code runs on CPU (fp32) and CUDA (bf16 autocast, channels_last).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mlcore import metrics, postprocess
from mlcore.augment import NO_AUGMENT, AugmentConfig, ForegroundIndex, augmentation, sample_patch
from mlcore.data import Sample
from mlcore.device import autocast, memory_format, resolve_device, seed_everything
from mlcore.losses import IGNORE_INDEX, get_loss, supervised_loss
from mlcore.models import MODELS, build_model, make_optimiser
from mlcore.predict import predict_slices
from mlcore.preprocess import Plan, fit_plan, resize_image, resize_labels

Progress = Callable[[dict[str, Any]], None]
ShouldStop = Callable[[], bool]
OPTIMISERS = ("AdamW", "SGD", "paper")
SCHEDULES = ("poly", "cosine", "constant")
# How a training batch picks its slices: "slice" (every labelled slice alike), "subject" (a subject,
# then one of its slices: nnU-Net's 2D loader) or "site" (a site, then a slice: a site with few
# subjects is seen as often as the largest). Foreground-aware patches are drawn within the slice.
SAMPLINGS = ("slice", "subject", "site")
DEFAULT_LR = {"AdamW": 3e-3, "SGD": 1e-2}


class TrainingStopped(Exception):
    """Raised inside training when `should_stop()` returned True (a cancelled job)."""


@dataclass
class TrainConfig:
    """Everything needed to rebuild, retrain and apply a model; stored in every checkpoint."""

    arch: str = "UVD"
    in_channels: int = 1
    num_classes: int = 12
    class_names: list[str] = field(default_factory=list)
    epochs: int = 10
    steps_per_epoch: int = 250  # optimiser steps per epoch, whatever the data set's size (nnU-Net: 250)
    batch_size: int = 8
    optimiser: str = "AdamW"  # "AdamW" | "SGD" (momentum 0.99, nesterov) | "paper" (the network's own)
    lr: float | None = None  # None -> 3e-3 AdamW, 1e-2 SGD, the paper's rate for "paper"
    weight_decay: float = 3e-5
    lr_schedule: str = "poly"  # "poly" (1 - t)^0.9 | "cosine" | "constant"
    loss: str = "dice_ce"  # "ce" | "dice_ce"
    ds_weights: list[float] | None = None  # deep-supervision weights: final head first
    augment: bool = True
    augmentation: str = "nnunet"  # "nnunet" | "multisite" (+ intensity curves) | "paper" | "none"
    augment_overrides: dict[str, Any] = field(
        default_factory=dict
    )  # AugmentConfig fields, e.g. {"p_mirror": 0.5}
    fg_fraction: float = 0.5  # share of patches centred on a foreground class (chosen uniformly)
    sampling: str = "slice"  # SAMPLINGS: which slices a batch draws from
    plan: dict[str, Any] | None = None  # mlcore.preprocess.Plan.to_dict(); fitted on the data when None
    min_spacing: float | None = None  # mm; a coarser plan than the median spacing (CPU budgets)
    max_patch: int = 256  # cap of the plan's patch side (pixels)
    patch_size: int | None = None  # square patch overriding the plan's
    channels: list[str] = field(default_factory=lambda: ["T2w"])
    label_map: dict[int, int] | None = None  # source mask value -> class id, as applied to the masks
    val_every: int = 0  # validate every N epochs for the history (0: after the last epoch only)
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    amp: bool = True  # bf16 autocast, CUDA only
    channels_last: bool = True  # CUDA and CPU (faster on both, see docs/mlcore.md)
    model_overrides: dict[str, Any] = field(default_factory=dict)  # e.g. {"filters": 8}
    # mlcore.postprocess: "none" | "largest_foreground"; "auto" = chosen by cross-validation (nnU-Net's
    # rule), "none" for a model trained without one.
    postprocess: str = "auto"

    def __post_init__(self) -> None:
        if not self.class_names:
            self.class_names = [f"class_{i}" for i in range(self.num_classes)]
        if len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class names for num_classes={self.num_classes}")
        if self.arch not in MODELS:
            raise ValueError(f"unknown arch {self.arch!r}: choose one of {sorted(MODELS)}")
        if self.epochs < 1 or self.batch_size < 1 or self.steps_per_epoch < 1:
            raise ValueError("epochs, steps_per_epoch and batch_size must be >= 1")
        if self.optimiser not in OPTIMISERS:
            raise ValueError(f"unknown optimiser {self.optimiser!r}: choose one of {list(OPTIMISERS)}")
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}: choose one of {list(SCHEDULES)}")
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"unknown sampling {self.sampling!r}: choose one of {list(SAMPLINGS)}")
        if not 0.0 <= self.fg_fraction <= 1.0:
            raise ValueError(f"fg_fraction must be within 0..1, got {self.fg_fraction}")
        if len(self.channels) != self.in_channels:
            if self.channels == ["T2w"] and self.in_channels == 2:
                self.channels = ["T2w", "T1w"]  # configs written before channels were named
            else:
                raise ValueError(
                    f"{len(self.channels)} channel names {self.channels} for in_channels={self.in_channels}"
                )
        get_loss(self.loss)
        self.augment_config()
        if self.postprocess != "auto":
            postprocess.check(self.postprocess)

    def augment_config(self) -> AugmentConfig:
        """The preset `augmentation` with `augment_overrides` applied; ValueError naming an unknown field."""
        names = {f.name for f in dataclasses.fields(AugmentConfig)}
        unknown = sorted(set(self.augment_overrides) - names)
        if unknown:
            raise ValueError(f"unknown augmentation setting(s) {unknown}: choose from {sorted(names)}")
        return dataclasses.replace(augmentation(self.augmentation), **self.augment_overrides)

    @property
    def applied_postprocess(self) -> str:
        """The post-processing predictions get: "auto" not yet decided by a CV means none."""
        return "none" if self.postprocess == "auto" else self.postprocess

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of to_dict; unknown keys (from a newer version) are ignored, and configs of the
        first checkpoint format (optimiser None = the paper's) still load."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if values.get("optimiser") in (None, "RMSprop", "Adam", "Adadelta"):
            values["optimiser"] = "paper"
        return cls(**values)

    def build(self) -> nn.Module:
        """A freshly initialised model for this config."""
        return build_model(self.arch, self.in_channels, self.num_classes, **self.model_overrides)

    def get_plan(self) -> Plan | None:
        return Plan.from_dict(self.plan) if self.plan else None

    def stride(self) -> int:
        spec = MODELS[self.arch]
        return 2 ** int(self.model_overrides.get("depth", spec.depth)) if spec.family != "smp" else 32


@dataclass
class FoldResult:
    """Final weights of one fold (CPU), their validation confusion (K, K) int64 and IoU (K,) float
    (nan = absent), the history, and the config with its fitted plan (what a checkpoint stores)."""

    state_dict: dict[str, Tensor]
    confusion: np.ndarray
    iou: np.ndarray
    history: list[dict[str, Any]]
    seconds: float
    config: TrainConfig
    best_epoch: int = 0  # the epoch whose weights are returned: always the last one
    # The validation confusion under each post-processing (mlcore.postprocess), for the CV's choice.
    postprocessed: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class CVResult:
    folds: list[FoldResult]
    report: dict[str, Any]


def plan_for(cfg: TrainConfig, samples: Sequence[Sample]) -> Plan:
    """cfg's plan, or one fitted to the samples' shapes and spacings (see mlcore.preprocess.fit_plan)."""
    plan = cfg.get_plan()
    if plan is None:
        if not samples:
            raise ValueError("no samples to fit a preprocessing plan on")
        plan = fit_plan(
            [np.shape(s.image)[1:] for s in samples],
            [s.spacing for s in samples],
            channels=cfg.channels,
            stride=cfg.stride(),
            max_patch=cfg.max_patch,
            min_spacing=cfg.min_spacing,
        )
    if cfg.patch_size:
        plan = dataclasses.replace(plan, patch_size=(cfg.patch_size, cfg.patch_size))
    return plan


def with_plan(cfg: TrainConfig, plan: Plan) -> TrainConfig:
    return dataclasses.replace(cfg, plan=plan.to_dict(), patch_size=None)


@dataclass
class _Prepared:
    """A training slice at the plan's spacing, with its foreground index and unlabelled classes."""

    image: np.ndarray  # (C, H, W) float32
    mask: np.ndarray  # (H, W) int64
    index: ForegroundIndex
    unlabelled: np.ndarray  # (K,) bool


def _prepare(samples: Sequence[Sample], plan: Plan, num_classes: int) -> list[_Prepared]:
    out = []
    for s in samples:
        if s.mask is None:
            continue
        shape = plan.slice_shape(np.shape(s.image)[1:], s.spacing)
        mask = resize_labels(np.asarray(s.mask, dtype=np.int64), shape)
        unlabelled = np.zeros(num_classes, bool)
        if s.labelled is not None:
            unlabelled[[c for c in range(1, num_classes) if c not in s.labelled]] = True
        out.append(_Prepared(resize_image(s.image, shape), mask, ForegroundIndex(mask), unlabelled))
    return out


def learning_rate(base: float, schedule: str, step: int, total: int) -> float:
    """Pure schedule: lr at 0-based `step` of `total` ("poly": base * (1 - t)^0.9, nnU-Net)."""
    t = min(step / max(total, 1), 1.0)
    if schedule == "poly":
        return float(base * (1 - t) ** 0.9)
    if schedule == "cosine":
        return base * 0.5 * (1 + math.cos(math.pi * t))
    return base


def make_training_optimiser(cfg: TrainConfig, model: nn.Module) -> tuple[torch.optim.Optimizer, float]:
    """(optimiser, its base learning rate) for the config."""
    if cfg.optimiser == "paper":
        spec = getattr(model, "spec", MODELS[cfg.arch])
        optimiser = make_optimiser(spec, model.parameters(), lr=cfg.lr)
        return optimiser, float(optimiser.param_groups[0]["lr"])
    base = cfg.lr if cfg.lr is not None else DEFAULT_LR[cfg.optimiser]
    if base <= 0:
        raise ValueError(f"learning rate must be positive, got {base}")
    if cfg.optimiser == "SGD":
        sgd = torch.optim.SGD(
            model.parameters(), lr=base, momentum=0.99, nesterov=True, weight_decay=cfg.weight_decay
        )
        return sgd, base
    return torch.optim.AdamW(model.parameters(), lr=base, weight_decay=cfg.weight_decay), base


def sampling_weights(samples: Sequence[Sample], sampling: str) -> np.ndarray | None:
    """Each sample's probability of being drawn (sums to 1) under `sampling` (SAMPLINGS); None for
    "slice", which draws uniformly (the stream of random numbers every earlier model was trained on).
    Samples without a subject or site form one group."""
    if sampling == "slice":
        return None
    keys = [s.subject if sampling == "subject" else s.site for s in samples]
    sizes = Counter(keys)
    weights = np.array([1.0 / (len(sizes) * sizes[key]) for key in keys], dtype=np.float64)
    weights /= weights.sum()
    return weights


def _batch(
    prepared: list[_Prepared],
    cfg: TrainConfig,
    plan: Plan,
    rng: np.random.Generator,
    aug: AugmentConfig,
    weights: np.ndarray | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """(images (B, C, P, Q), masks (B, P, Q), unlabelled (B, K)) of random augmented patches, the slices
    drawn uniformly or with `weights` (sampling_weights)."""
    if weights is None:
        picks = rng.integers(len(prepared), size=cfg.batch_size)
    else:
        picks = rng.choice(len(prepared), size=cfg.batch_size, p=weights)
    patch = tuple(plan.patch_size)
    images, masks = [], []
    for i in picks:
        item = prepared[int(i)]
        image, mask = sample_patch(
            item.image, item.mask, (patch[0], patch[1]), rng, aug, item.index, cfg.fg_fraction
        )
        images.append(image)
        masks.append(mask)
    unlabelled = np.stack([prepared[int(i)].unlabelled for i in picks])
    return torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(masks)), torch.from_numpy(unlabelled)


def evaluate_postprocessing(
    models: nn.Module | Sequence[nn.Module],
    samples: Sequence[Sample],
    cfg: TrainConfig,
    names: Sequence[str] = postprocess.POSTPROCESSING,
    batch_size: int = 8,
) -> dict[str, np.ndarray]:
    """Confusion matrix (K, K) per post-processing in `names`, over all labelled pixels of whole
    validation slices on their own grids (the paper's metric); one prediction serves all of them.
    Post-processing runs on each stack of neighbouring slices of a volume (mlcore.postprocess.runs)
    before scoring. Pixels of IGNORE_INDEX are left out; predictions of a class the slice's source
    never labelled count as background."""
    plan = cfg.get_plan()
    if plan is None:
        raise ValueError("the config has no preprocessing plan: train it first")
    k = cfg.num_classes
    labelled = [s for s in samples if s.mask is not None]
    predicted: list[np.ndarray] = []
    for start in range(0, len(labelled), 16):
        chunk = labelled[start : start + 16]
        probs = predict_slices(
            models,
            plan,
            [s.image for s in chunk],
            [s.spacing for s in chunk],
            batch_size=batch_size,
            amp=cfg.amp,
        )
        predicted += [p.argmax(axis=0).astype(np.uint8 if k < 256 else np.int64) for p in probs]
    volumes = [s.volume_key for s in labelled]
    indices = [s.index for s in labelled]
    out: dict[str, np.ndarray] = {}
    for name in names:
        confusion = np.zeros((k, k), dtype=np.int64)
        for pred, s in zip(
            postprocess.apply_to_slices(name, predicted, volumes, indices), labelled, strict=True
        ):
            if s.labelled is not None:
                pred = np.where(np.isin(pred, [0, *s.labelled]), pred, 0)
            truth = np.asarray(s.mask)
            keep = truth != IGNORE_INDEX
            confusion += metrics.confusion_matrix(pred[keep], truth[keep], k)
        out[name] = confusion
    return out


def evaluate_models(
    models: nn.Module | Sequence[nn.Module], samples: Sequence[Sample], cfg: TrainConfig, batch_size: int = 8
) -> np.ndarray:
    """Confusion matrix (K, K) of the models with the config's post-processing (see
    `evaluate_postprocessing`)."""
    name = cfg.applied_postprocess
    return evaluate_postprocessing(models, samples, cfg, (name,), batch_size)[name]


def train_fold(
    cfg: TrainConfig,
    train: list[Sample],
    val: list[Sample],
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    fold: int = 0,
) -> FoldResult:
    """Train on `train` for cfg.epochs x cfg.steps_per_epoch steps; score the final weights on `val`
    (may be empty: a final model on all data, then confusion and IoU are empty).

    progress(dict(fold, epoch, epochs, step, steps, loss, eta_seconds)) after every step (1-based
    epoch and step); should_stop() is checked before every step and raises TrainingStopped."""
    labelled = [s for s in train if s.mask is not None]
    if not labelled:
        raise ValueError("no labelled training samples")
    started = time.perf_counter()
    seed_everything(cfg.seed)
    rng = np.random.default_rng([cfg.seed, fold])
    plan = plan_for(cfg, labelled)
    cfg = with_plan(cfg, plan)
    prepared = _prepare(labelled, plan, cfg.num_classes)
    weights = sampling_weights(labelled, cfg.sampling)
    device = resolve_device(cfg.device)
    fmt = memory_format(device, cfg.channels_last)
    model = cfg.build().to(device).to(memory_format=fmt)
    optimiser, base_lr = make_training_optimiser(cfg, model)
    loss_fn = get_loss(cfg.loss)
    aug = cfg.augment_config() if cfg.augment else NO_AUGMENT
    steps, total = cfg.steps_per_epoch, cfg.steps_per_epoch * cfg.epochs
    history: list[dict[str, Any]] = []
    k = cfg.num_classes
    confusion = np.zeros((k, k), dtype=np.int64)
    has_val = any(s.mask is not None for s in val)
    postprocessed: dict[str, np.ndarray] = {}
    done = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        losses: list[float] = []
        for step in range(1, steps + 1):
            if should_stop is not None and should_stop():
                raise TrainingStopped(f"stopped at fold {fold} epoch {epoch} step {step}")
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(base_lr, cfg.lr_schedule, done, total)
            images, masks, unlabelled = _batch(prepared, cfg, plan, rng, aug, weights)
            x = images.to(device, non_blocking=True).contiguous(memory_format=fmt)  # (B, C, P, Q)
            y = masks.to(device, non_blocking=True)  # (B, P, Q)
            optimiser.zero_grad(set_to_none=True)
            with autocast(device, cfg.amp):
                out = model(x)
            partial = unlabelled.to(device) if bool(unlabelled.any()) else None
            loss = supervised_loss(out, y, loss_fn, cfg.ds_weights, partial)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 12.0)  # nnU-Net's clip
            optimiser.step()
            losses.append(float(loss.detach()))
            done += 1
            if progress is not None:
                elapsed = time.perf_counter() - started
                progress(
                    dict(
                        fold=fold,
                        epoch=epoch,
                        epochs=cfg.epochs,
                        step=step,
                        steps=steps,
                        loss=losses[-1],
                        eta_seconds=elapsed / done * (total - done),
                    )
                )
        entry: dict[str, Any] = dict(
            epoch=epoch, loss=float(np.mean(losses)), lr=learning_rate(base_lr, cfg.lr_schedule, done, total)
        )
        last = epoch == cfg.epochs
        if has_val and (last or (cfg.val_every and epoch % cfg.val_every == 0)):
            model.eval()
            if last:
                postprocessed = evaluate_postprocessing(model, val, cfg)
                confusion = postprocessed[cfg.applied_postprocess]
            else:
                confusion = evaluate_models(model, val, cfg)
            entry["val_mean_iou"] = _nan_to_none(metrics.mean_iou(confusion, include_background=False))
            entry["iou"] = [_nan_to_none(v) for v in metrics.iou_per_class(confusion)]
        entry["seconds"] = time.perf_counter() - started
        history.append(entry)
    model.eval()
    state = {name: v.detach().to("cpu", copy=True) for name, v in model.state_dict().items()}
    return FoldResult(
        state_dict=copy.deepcopy(state),
        confusion=confusion,
        iou=np.asarray(metrics.iou_per_class(confusion), dtype=float),
        history=history,
        seconds=time.perf_counter() - started,
        best_epoch=cfg.epochs,
        config=cfg,
        postprocessed=postprocessed,
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
    """Patient-level k-fold CV: folds[i] lists the validation subjects of fold i (mlcore.folds).

    One plan is fitted on all labelled samples first (a data set fingerprint, like nnU-Net's), so
    every fold presents slices the same way."""
    plan = plan_for(cfg, [s for s in samples if s.mask is not None])
    cfg = with_plan(cfg, plan)
    results: list[FoldResult] = []
    for index, val_subjects in enumerate(folds):
        train, val = split_by_subjects(samples, val_subjects)
        if not val:
            raise ValueError(f"fold {index} has no validation slices (subjects {list(val_subjects)})")
        results.append(train_fold(cfg, train, val, progress, should_stop, fold=index))
    report = metrics.cv_report([r.confusion for r in results], cfg.class_names)
    if cfg.postprocess == "auto":
        decision = postprocess.decide([r.postprocessed for r in results], cfg.class_names)
        report["postprocess"] = decision
        for r in results:
            r.config = dataclasses.replace(r.config, postprocess=decision["chosen"])
    return CVResult(folds=results, report=report)
