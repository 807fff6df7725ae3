"""Extra baselines from segmentation-models-pytorch (never pretrained: encoder_weights=None)."""

from __future__ import annotations

import segmentation_models_pytorch as smp
import torch
from torch import nn

from .base import SegmentationNet
from .spec import ModelSpec

SMP_ARCHS = ("Unet", "UnetPlusPlus", "DeepLabV3Plus")


class SmpBaseline(SegmentationNet):
    """An smp network (Unet / UnetPlusPlus / DeepLabV3Plus) behind the common shell.

    `spec.filters` scales the decoder: Unet/UnetPlusPlus get decoder_channels
    (16f, 8f, 4f, 2f, f) (smp's default for f = 16), DeepLabV3Plus gets 16f. A `nn.Dropout2d(spec.dropout)`
    on the deepest encoder features is the MC-dropout layer (DeepLabV3Plus' ASPP dropout uses the same p).
    Stride 32, never deep-supervised.
    """

    def __init__(self, spec: ModelSpec, in_channels: int, num_classes: int) -> None:
        super().__init__(spec, in_channels, num_classes)
        if spec.smp_arch not in SMP_ARCHS:
            raise ValueError(f"unknown smp_arch {spec.smp_arch!r}; valid: {', '.join(SMP_ARCHS)}")
        f = spec.filters
        common = dict(
            encoder_name=spec.encoder_name, encoder_weights=None, in_channels=in_channels, classes=num_classes
        )
        if spec.smp_arch == "DeepLabV3Plus":
            self.net = smp.DeepLabV3Plus(**common, decoder_channels=16 * f, decoder_aspp_dropout=spec.dropout)
        else:
            cls = smp.Unet if spec.smp_arch == "Unet" else smp.UnetPlusPlus
            self.net = cls(**common, decoder_channels=(16 * f, 8 * f, 4 * f, 2 * f, f))
        self.stride = 32
        self.dropout = nn.Dropout2d(spec.dropout)

    def bottleneck(self, x: torch.Tensor) -> torch.Tensor:
        deepest: torch.Tensor = self.net.encoder(x)[-1]  # (B, D, H/32, W/32) (H/16 for DeepLabV3Plus)
        return deepest

    def forward_padded(self, x: torch.Tensor, with_aux: bool) -> list[torch.Tensor]:
        # smp's own forward, with the bottleneck dropout spliced in
        feats = list(self.net.encoder(x))  # [(B, C_i, H / 2**i, W / 2**i)]
        feats[-1] = self.dropout(feats[-1])
        return [self.net.segmentation_head(self.net.decoder(feats))]  # [(B, K, H, W)]
