"""Smallest building pieces: activations, conv-norm-act, input checks, pad-to-stride and crop-back."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def make_activation(name: str, channels: int) -> nn.Module:
    """A fresh activation module: "ReLU" or "PReLU" (one learnable slope per channel)."""
    if name == "ReLU":
        return nn.ReLU(inplace=True)
    if name == "PReLU":
        return nn.PReLU(num_parameters=channels)
    raise ValueError(f"unknown activation {name!r}; valid: 'ReLU', 'PReLU'")


class ConvNormAct(nn.Sequential):
    """Conv2d (no bias) -> BatchNorm2d -> activation. (B, in_ch, H, W) -> (B, out_ch, H, W)."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, activation: str = "ReLU") -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_ch),
            make_activation(activation, out_ch),
        )


def check_input(x: torch.Tensor, in_channels: int) -> None:
    """Raise ValueError with the shape that would work unless x is (B, in_channels, H, W)."""
    if x.ndim != 4:
        hint = " (add a batch axis: x[None])" if x.ndim == 3 else ""
        raise ValueError(
            f"expected a batch of shape (B, {in_channels}, H, W), got shape {tuple(x.shape)}{hint}"
        )
    if x.shape[1] != in_channels:
        raise ValueError(
            f"expected {in_channels} input channel(s), i.e. shape (B, {in_channels}, H, W); "
            f"got shape {tuple(x.shape)}"
        )
    if x.shape[-2] < 1 or x.shape[-1] < 1:
        raise ValueError(f"expected a non-empty image (B, {in_channels}, H>=1, W>=1), got {tuple(x.shape)}")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad bottom/right so H and W become multiples of `multiple`.

    Reflect padding where the image is large enough, zero padding otherwise. Padding only at the
    bottom/right keeps every down-sampled feature map top-left aligned with the input, so outputs at
    stride s are cropped back with `crop_to(y, ceil(H / s), ceil(W / s))`.

    Args:
        x: (B, C, H, W).
    Returns:
        (B, C, H', W') with H' = ceil(H / multiple) * multiple, same for W'.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < h and pw < w else "constant"
    return F.pad(x, (0, pw, 0, ph), mode=mode)  # (B, C, H', W')


def crop_to(y: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Top-left crop: (B, K, H', W') -> (B, K, height, width)."""
    return y[..., :height, :width]


def scaled_size(height: int, width: int, stride: int) -> tuple[int, int]:
    """Size of the un-padded region of a feature map at `stride`: (ceil(H / s), ceil(W / s))."""
    return math.ceil(height / stride), math.ceil(width / stride)
