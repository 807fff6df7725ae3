"""A round's launch options: the deployment's presets, and the validation of what ML staff choose
(every problem is a 400 naming the field)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from annotator.errors import InvalidInput
from annotator.services.projects import channel_names
from mlcore.architectures import ARCHITECTURES
from mlcore.architectures import PAPER_ARCHITECTURES as PAPER_ARCHS
from mlcore.augment import AUGMENTATIONS

__all__ = [
    "ARCHITECTURES",
    "AUGMENTATION_CHOICES",
    "PAPER_ARCHITECTURES",
    "STRATEGIES",
    "RoundOptions",
    "default_options",
    "parse_options",
]

PAPER_ARCHITECTURES = list(PAPER_ARCHS)
STRATEGIES = ["random", "entropy", "margin", "bald", "disagreement"]
# mlcore's augmentation presets a round may train with ("none" is `augment` off)
AUGMENTATION_CHOICES = [name for name in AUGMENTATIONS if name != "none"]
ALL_SUBJECTS = -1  # the `fold` of a round's final-model job


@dataclass
class RoundOptions:
    """What ML staff choose at launch (mlcore.train.TrainConfig explains the recipe's knobs)."""

    architectures: list[str] = field(default_factory=lambda: list(PAPER_ARCHITECTURES))
    folds: int = 5
    epochs: int = 20
    steps_per_epoch: int = 250
    channels: str = ""  # '' = the project's channels (Project.channels; T2w when it names none)
    strategy: str = "entropy"
    next_batch: int = 20
    filters: int | None = None
    patch_size: int | None = None
    min_spacing: float | None = None
    batch_size: int = 8
    optimiser: str = "AdamW"
    seed: int = 0
    loss: str = "dice_ce"
    augment: bool = True
    augmentation: str = "nnunet"  # mlcore's preset; "multisite" for models that must transfer
    promotion_floor: float | None = None  # None -> settings.SPINELAB["PROMOTION_FLOOR"]
    # also train each architecture on every subject: the live model pre-labels with it
    final_model: bool = False


# Launch defaults per deployment (SPINELAB_ROUND_PRESET). "gpu": the paper's eight networks, 5 folds,
# 20 x 250 steps at the data's own spacing. "cpu": one network a 2-core CPU trains in about five
# minutes and still pre-labels usefully (bench/bench_demo_round.py, bench/RESULTS.md: 81 % mean
# foreground IoU on the demo's phantom in 5.3 min): UD with 16 filters, 2 folds, 2 x 250 steps of
# batch 4, slices resampled to 2.2 mm (the phantom's 256 px at ~1.1 mm become 128 px). Filters 8
# with batch 8 took 6 min for 69 % (intramuscular fat and nerve roots unlearned).
PRESETS: dict[str, dict[str, Any]] = {
    "gpu": {"final_model": True},
    "cpu": {
        "architectures": ["UD"],
        "folds": 2,
        "epochs": 2,
        "filters": 16,
        "min_spacing": 2.2,
        "batch_size": 4,
    },
}


def default_options() -> RoundOptions:
    """The launch defaults of this deployment's preset."""
    from django.conf import settings

    return RoundOptions(**PRESETS[settings.SPINELAB["ROUND_PRESET"]])


def _float(data: dict[str, Any], key: str, default: float | None, low: float, high: float) -> float | None:
    value = data.get(key, default)
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{key} must be a number, got {value!r}", field=key) from None
    if not low <= number <= high:  # also refuses nan
        raise InvalidInput(f"{key} must be between {low} and {high}, got {value!r}", field=key)
    return number


def _int(data: dict[str, Any], key: str, default: int | None, low: int, high: int) -> int | None:
    value = data.get(key, default)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{key} must be an integer, got {value!r}", field=key) from None
    if not low <= number <= high:
        raise InvalidInput(f"{key} must be between {low} and {high}, got {number}", field=key)
    return number


def parse_options(data: dict[str, Any]) -> RoundOptions:
    """Validate launch options from JSON or a form; every problem is a 400 naming the field. Missing
    options take the deployment's preset (default_options)."""
    base = default_options()
    archs = data.get("architectures") or list(base.architectures)
    if isinstance(archs, str):
        archs = [a.strip() for a in archs.split(",") if a.strip()]
    if not isinstance(archs, list) or not all(isinstance(a, str) for a in archs):
        raise InvalidInput("architectures must be a list of names", field="architectures")
    unknown = [a for a in archs if a not in ARCHITECTURES]
    if unknown:
        raise InvalidInput(
            f"unknown architectures {unknown}: choose from {sorted(ARCHITECTURES)}", field="architectures"
        )
    strategy = data.get("strategy") or "entropy"
    if strategy not in STRATEGIES:
        raise InvalidInput(
            f"unknown ranking strategy {strategy!r}: choose one of {STRATEGIES}", field="strategy"
        )
    channels = data.get("channels") or ""
    if channels:
        channel_names(channels)
    loss = data.get("loss") or "dice_ce"
    if loss not in ("ce", "dice_ce"):
        raise InvalidInput(f"loss must be 'ce' or 'dice_ce', got {loss!r}", field="loss")
    optimiser = data.get("optimiser") or base.optimiser
    if optimiser not in ("AdamW", "SGD", "paper"):
        raise InvalidInput(
            f"optimiser must be 'AdamW', 'SGD' or 'paper' (each network's own), got {optimiser!r}",
            field="optimiser",
        )
    augment = _flag(data.get("augment", True))
    augmentation = data.get("augmentation") or base.augmentation
    if augmentation not in AUGMENTATION_CHOICES:
        raise InvalidInput(
            f"unknown augmentation {augmentation!r}: choose one of {AUGMENTATION_CHOICES}",
            field="augmentation",
        )
    final_model = _flag(data.get("final_model", base.final_model))
    return RoundOptions(
        architectures=list(dict.fromkeys(archs)),
        folds=_int(data, "folds", base.folds, 2, 20) or base.folds,
        epochs=_int(data, "epochs", base.epochs, 1, 1000) or base.epochs,
        steps_per_epoch=_int(data, "steps_per_epoch", base.steps_per_epoch, 1, 10000) or base.steps_per_epoch,
        channels=channels,
        strategy=strategy,
        next_batch=_int(data, "next_batch", 20, 1, 100000) or 20,
        filters=_int(data, "filters", base.filters, 1, 512),
        patch_size=_int(data, "patch_size", None, 16, 2048),
        min_spacing=_float(data, "min_spacing", base.min_spacing, 0.05, 20.0),
        batch_size=_int(data, "batch_size", base.batch_size, 1, 512) or base.batch_size,
        optimiser=optimiser,
        seed=_int(data, "seed", 0, 0, 2**31 - 1) or 0,
        loss=loss,
        augment=augment,
        augmentation=augmentation,
        promotion_floor=_float(data, "promotion_floor", None, 0.0, 1.0),
        final_model=final_model,
    )


def _flag(value: Any) -> bool:
    """A JSON boolean or a form's checkbox value."""
    if isinstance(value, str):
        return value.lower() in ("1", "true", "on", "yes")
    return bool(value)
