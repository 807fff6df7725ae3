"""`ModelSpec`: the frozen description of one registered network (paper defaults + builder knobs)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

Optimiser = Literal["RMSprop", "Adam", "Adadelta"]
Activation = Literal["ReLU", "PReLU"]
Family = Literal["unet", "fcn8", "smp"]
Norm = Literal["batch", "instance"]


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry.

    The first seven fields are the team contract (docs/ARCHITECTURE.md); the rest tell the builder
    which network to assemble. Every field except `name` may be overridden in `build_model(...)`.

    Args:
        name: registry key, e.g. "UVD".
        description: one line for humans.
        optimiser: "RMSprop" | "Adam" | "Adadelta" (the paper's choice for this network).
        lr: default learning rate for `make_optimiser`.
        activation: "ReLU" | "PReLU" (PReLU is per channel).
        filters: initial filters (channels of the first encoder stage); halve it for CPU tests.
        deep_supervision: train-mode forward returns `list[Tensor]` (final head first).
        family: "unet" (custom U-Net body), "fcn8" or "smp" (segmentation-models-pytorch baseline).
        attention: attention gates replace the plain skip connections (A).
        multikernel: multi-kernel inception blocks instead of double 3x3 convolutions (M).
        encoder: "plain" U-Net encoder or "vgg16" (VGG16 layout trained from scratch, V).
        depth: number of 2x down-samplings of the U-Net (stride = 2 ** depth).
        dropout: p of the `nn.Dropout2d` at the bottleneck; it is the layer MC dropout switches on.
        smp_arch: smp class name for family "smp" ("Unet", "UnetPlusPlus", "DeepLabV3Plus").
        encoder_name: smp encoder for family "smp" (never pretrained).
        norm: "batch" (BatchNorm2d, the paper's) or "instance" (every BatchNorm2d becomes an affine
            InstanceNorm2d: each image normalised by its own statistics, in training and inference alike,
            as nnU-Net does; `predict --adapt-bn` then has nothing to adapt).
    """

    name: str
    description: str
    optimiser: Optimiser
    lr: float
    activation: Activation
    filters: int
    deep_supervision: bool
    family: Family = "unet"
    attention: bool = False
    multikernel: bool = False
    encoder: Literal["plain", "vgg16"] = "plain"
    depth: int = 4
    dropout: float = 0.1
    smp_arch: str = ""
    encoder_name: str = "resnet34"
    norm: Norm = "batch"

    @classmethod
    def field_names(cls) -> list[str]:
        """Names of all fields, in declaration order."""
        return [f.name for f in fields(cls)]
