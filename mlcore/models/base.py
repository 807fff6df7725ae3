"""`SegmentationNet`: the shared outer shell (input check, pad to stride, crop back, DS output, encode)."""

from __future__ import annotations

import torch
from torch import nn

from .layers import check_input, crop_to, pad_to_multiple, scaled_size
from .spec import ModelSpec


class SegmentationNet(nn.Module):
    """Base of every registered network.

    Subclasses set `self.stride` (input sizes are padded to a multiple of it) and
    `self.head_strides` (stride of each head, final head first) and implement
    `forward_padded(x, with_aux)` and `bottleneck(x)` on padded input.

    Attributes:
        spec: the `ModelSpec` the network was built from (with overrides applied).
        in_channels, num_classes: C and K.
        deep_supervision: True when a train-mode forward returns `list[Tensor]`.
    """

    stride: int = 1
    head_strides: list[int]

    def __init__(self, spec: ModelSpec, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.spec = spec
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.deep_supervision = spec.deep_supervision
        self.head_strides = [1]

    def forward_padded(self, x: torch.Tensor, with_aux: bool) -> list[torch.Tensor]:
        """x: (B, C, H', W') with H', W' multiples of `stride` -> logits per head, final first;
        the i-th is (B, K, H' / head_strides[i], W' / head_strides[i]). Only the final one unless with_aux."""
        raise NotImplementedError

    def bottleneck(self, x: torch.Tensor) -> torch.Tensor:
        """x: padded (B, C, H', W') -> deepest encoder features (B, D, H' / s, W' / s), before dropout."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        """Segment a batch.

        Args:
            x: (B, C, H, W) with C = in_channels; any H, W (padded internally, cropped back).
        Returns:
            eval mode, or a model without deep supervision: logits (B, K, H, W).
            train mode with deep supervision: [final (B, K, H, W), aux heads (B, K, ceil(H/s), ceil(W/s))
            for s = 2, 4, 8, ...], i.e. final head first, then lower and lower resolutions.
        """
        check_input(x, self.in_channels)
        h, w = x.shape[-2:]
        with_aux = self.deep_supervision and self.training
        outs = self.forward_padded(pad_to_multiple(x, self.stride), with_aux)
        outs = [crop_to(y, *scaled_size(h, w, s)) for y, s in zip(outs, self.head_strides, strict=False)]
        return outs if with_aux else outs[0]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Global-average-pooled bottleneck features for active-learning diversity.

        Args:
            x: (B, C, H, W).
        Returns:
            (B, D) with D the bottleneck channel count.
        """
        check_input(x, self.in_channels)
        feats = self.bottleneck(pad_to_multiple(x, self.stride))  # (B, D, h, w)
        return feats.mean(dim=(2, 3))  # (B, D)
