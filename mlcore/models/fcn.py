"""FCN8 (Long et al. 2015) on a VGG16-layout encoder trained from scratch, with the paper's filters."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import SegmentationNet
from .blocks import conv_block
from .layers import ConvNormAct
from .spec import ModelSpec
from .unet import VGG16_CONVS


class FCN8(SegmentationNet):
    """FCN8: scores from pool5 (stride 32), pool4 (16) and pool3 (8) fused by learned 2x up-sampling,
    then bilinear 8x up-sampling to full size. Stride 32; never deep-supervised.

    Channels: stages filters, 2f, 4f, 8f, 8f (VGG16 layout); "fc6/fc7" are a 3x3 and a 1x1 conv with
    16f channels; the `nn.Dropout2d(spec.dropout)` after fc7 is the MC-dropout layer.
    """

    def __init__(self, spec: ModelSpec, in_channels: int, num_classes: int) -> None:
        super().__init__(spec, in_channels, num_classes)
        f, act, k = spec.filters, spec.activation, num_classes
        self.stride = 32
        ch = [f, 2 * f, 4 * f, 8 * f, 8 * f]
        chans = [in_channels, *ch]
        self.stages = nn.ModuleList(
            nn.Sequential(
                conv_block(chans[i], chans[i + 1], act, spec.multikernel, VGG16_CONVS[i]), nn.MaxPool2d(2)
            )
            for i in range(5)
        )
        self.fc = nn.Sequential(ConvNormAct(8 * f, 16 * f, 3, act), ConvNormAct(16 * f, 16 * f, 1, act))
        self.dropout = nn.Dropout2d(spec.dropout)
        self.score32 = nn.Conv2d(16 * f, k, 1)
        self.score16 = nn.Conv2d(8 * f, k, 1)
        self.score8 = nn.Conv2d(4 * f, k, 1)
        self.up32 = nn.ConvTranspose2d(k, k, kernel_size=4, stride=2, padding=1)
        self.up16 = nn.ConvTranspose2d(k, k, kernel_size=4, stride=2, padding=1)

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: (B, C, H, W) -> pool3 (B, 4f, H/8, W/8), pool4 (B, 8f, H/16, W/16), fc7 (B, 16f, H/32, W/32)."""
        pools = []
        for stage in self.stages:
            x = stage(x)
            pools.append(x)  # (B, ch[i], H / 2**(i+1), W / 2**(i+1))
        return pools[2], pools[3], self.fc(pools[4])

    def bottleneck(self, x: torch.Tensor) -> torch.Tensor:
        return self._features(x)[2]  # (B, 16f, H/32, W/32)

    def forward_padded(self, x: torch.Tensor, with_aux: bool) -> list[torch.Tensor]:
        pool3, pool4, fc7 = self._features(x)
        s = self.up32(self.score32(self.dropout(fc7)))  # (B, K, H/16, W/16)
        s = self.up16(s + self.score16(pool4))  # (B, K, H/8, W/8)
        s = s + self.score8(pool3)  # (B, K, H/8, W/8)
        return [F.interpolate(s, size=x.shape[-2:], mode="bilinear", align_corners=False)]  # (B, K, H, W)
