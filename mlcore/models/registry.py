"""The model registry: the paper's eight networks plus smp baselines, the builder and the optimiser.

MC dropout: every built model has exactly one `nn.Dropout2d` of its own at the bottleneck (p =
`spec.dropout`, override with `build_model(..., dropout=0.2)`). `enable_mc_dropout(model)` puts the
model in eval mode (BatchNorm frozen) and only the dropout modules (`torch.nn.modules.dropout._DropoutNd`:
nn.Dropout, nn.Dropout2d, ...) in train mode, so repeated forwards sample different masks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn
from torch.nn.modules.dropout import _DropoutNd

from .base import SegmentationNet
from .baselines import SmpBaseline
from .fcn import FCN8
from .spec import ModelSpec
from .unet import UNet

_ADAM = 0.00033


def _unet(
    name: str, desc: str, opt: str, lr: float, act: str, filters: int, ds: bool, **kw: Any
) -> ModelSpec:
    return ModelSpec(name, desc, opt, lr, act, filters, ds, family="unet", **kw)  # type: ignore[arg-type]


def _smp(name: str, desc: str, arch: str) -> ModelSpec:
    return ModelSpec(name, desc, "Adam", _ADAM, "ReLU", 16, False, family="smp", smp_arch=arch)


MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        _unet(
            "UAD", "U-Net + attention + deep supervision", "RMSprop", 0.001, "ReLU", 16, True, attention=True
        ),
        _unet(
            "UVAD",
            "U-Net + VGG16 encoder + attention + deep supervision",
            "Adam",
            _ADAM,
            "PReLU",
            32,
            True,
            encoder="vgg16",
            attention=True,
        ),
        _unet(
            "UAMD",
            "U-Net + attention + multi-kernel + deep supervision",
            "Adam",
            _ADAM,
            "ReLU",
            16,
            True,
            attention=True,
            multikernel=True,
        ),
        _unet(
            "UVD",
            "U-Net + VGG16 encoder + deep supervision",
            "Adam",
            _ADAM,
            "PReLU",
            32,
            True,
            encoder="vgg16",
        ),
        _unet(
            "UMD",
            "U-Net + multi-kernel + deep supervision",
            "Adam",
            _ADAM,
            "ReLU",
            32,
            True,
            multikernel=True,
        ),
        _unet("UD", "U-Net + deep supervision", "Adam", _ADAM, "ReLU", 64, True),
        _unet("U1", "plain U-Net", "Adadelta", 1.0, "ReLU", 64, False),
        ModelSpec("FCN8", "FCN8 on a VGG16-layout encoder", "Adam", _ADAM, "ReLU", 32, False, family="fcn8"),
        _smp("unet_resnet34", "smp.Unet, resnet34 encoder from scratch", "Unet"),
        _smp("unetplusplus", "smp.UnetPlusPlus, resnet34 encoder from scratch", "UnetPlusPlus"),
        _smp("deeplabv3plus", "smp.DeepLabV3Plus, resnet34 encoder from scratch", "DeepLabV3Plus"),
    ]
}

_NETWORKS: dict[str, type[SegmentationNet]] = {"unet": UNet, "fcn8": FCN8, "smp": SmpBaseline}
_OPTIMISERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "RMSprop": torch.optim.RMSprop,
    "Adam": torch.optim.Adam,
    "Adadelta": torch.optim.Adadelta,
}


def list_models() -> list[str]:
    """Registered model names: the paper's eight first, then the smp baselines."""
    return list(MODELS)


def get_spec(name: str) -> ModelSpec:
    """The registered spec of `name`; ValueError listing the valid names if unknown."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(MODELS)}")
    return MODELS[name]


def _check_spec(spec: ModelSpec) -> None:
    if spec.family not in _NETWORKS:
        raise ValueError(f"unknown family {spec.family!r}; valid: {', '.join(_NETWORKS)}")
    if spec.optimiser not in _OPTIMISERS:
        raise ValueError(f"unknown optimiser {spec.optimiser!r}; valid: {', '.join(_OPTIMISERS)}")
    if spec.activation not in ("ReLU", "PReLU"):
        raise ValueError(f"unknown activation {spec.activation!r}; valid: ReLU, PReLU")
    if not isinstance(spec.filters, int) or spec.filters < 1:
        raise ValueError(f"filters must be a positive integer, got {spec.filters!r}")
    if not 0.0 <= spec.dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {spec.dropout!r}")
    if spec.norm not in ("batch", "instance"):
        raise ValueError(f"unknown norm {spec.norm!r}; valid: batch, instance")
    if spec.deep_supervision and spec.family != "unet":
        raise ValueError(f"deep supervision is only available for U-Net models, not family {spec.family!r}")


def build_model(name: str, in_channels: int, num_classes: int, **overrides: Any) -> nn.Module:
    """Build a registered network, untrained.

    Args:
        name: one of `list_models()`.
        in_channels: C of the (B, C, H, W) input (1 = T2w, 2 = T2w + T1w, ...).
        num_classes: K of the (B, K, H, W) logits (12 for the lumbar schema).
        **overrides: any `ModelSpec` field but `name`, e.g. filters=8 (tiny CPU model), dropout=0.2.
    Returns:
        A `SegmentationNet` with `spec`, `in_channels`, `num_classes`, `deep_supervision` and `encode`.
    """
    spec = get_spec(name)
    bad = sorted(set(overrides) - (set(ModelSpec.field_names()) - {"name"}))
    if bad:
        valid = ", ".join(f for f in ModelSpec.field_names() if f != "name")
        raise ValueError(f"unknown override(s) {', '.join(bad)} for model {name!r}; valid: {valid}")
    for label, value in (("in_channels", in_channels), ("num_classes", num_classes)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}")
    spec = dataclasses.replace(spec, **overrides)
    _check_spec(spec)
    model = _NETWORKS[spec.family](spec, in_channels, num_classes)
    if spec.norm == "instance":
        _batch_to_instance_norm(model)
    return model


def _batch_to_instance_norm(module: nn.Module) -> None:
    """Replace every BatchNorm2d under `module` by an affine InstanceNorm2d of the same width, in place.

    InstanceNorm2d without running statistics normalises each image by its own mean and variance in
    train and eval mode alike, so a scan from another scanner is never normalised by the training
    scans' statistics.
    """
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, nn.InstanceNorm2d(child.num_features, eps=child.eps, affine=True))
        else:
            _batch_to_instance_norm(child)


def make_optimiser(
    spec_or_name: ModelSpec | str,
    params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
    lr: float | None = None,
) -> torch.optim.Optimizer:
    """The spec's optimiser (RMSprop / Adam / Adadelta) over `params`, at `lr` or the spec's default lr."""
    spec = get_spec(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name
    if spec.optimiser not in _OPTIMISERS:
        raise ValueError(f"unknown optimiser {spec.optimiser!r}; valid: {', '.join(_OPTIMISERS)}")
    rate = spec.lr if lr is None else lr
    if rate <= 0:
        raise ValueError(f"learning rate must be positive, got {rate!r}")
    return _OPTIMISERS[spec.optimiser](params, lr=rate)


def enable_mc_dropout(model: nn.Module) -> int:
    """Eval mode everywhere except dropout modules, which sample (MC dropout). Returns how many."""
    model.eval()
    n = 0
    for module in model.modules():
        if isinstance(module, _DropoutNd):
            module.train()
            n += 1
    return n
