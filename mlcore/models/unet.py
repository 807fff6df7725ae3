"""Configurable U-Net body: plain or VGG16 encoder, optional attention gates (A), deep supervision (D)
and multi-kernel blocks (M). The paper's seven U-Net variants are settings of this one class."""

from __future__ import annotations

import torch
from torch import nn

from .base import SegmentationNet
from .blocks import DecoderStep, SegmentationHeads, conv_block
from .spec import ModelSpec

VGG16_CONVS = (2, 2, 3, 3, 3)  # 3x3 convolutions per VGG16 stage (13 in all)


class UNetEncoder(nn.Module):
    """Encoder stages separated by 2x max-pooling.

    plain: stage i has 2 convs (or a multi-kernel block) and `filters * 2**i` channels.
    vgg16: the VGG16 layout (2, 2, 3, 3, 3 convs; filters, 2f, 4f, 8f, 8f channels), trained from scratch.
    Custom rather than smp's "vgg16" encoder because that one hard-codes 64 filters and ReLU, while the
    paper's V-variants use 32 filters and PReLU.

    forward: (B, C, H, W) -> [(B, out_channels[i], H / 2**i, W / 2**i) for i in 0..depth].
    """

    def __init__(
        self, in_ch: int, filters: int, depth: int, activation: str, multikernel: bool, kind: str
    ) -> None:
        super().__init__()
        if kind == "vgg16":
            if not 1 <= depth <= 4:
                raise ValueError(f"the vgg16 encoder supports depth 1..4, got {depth}")
            self.out_channels = [filters * min(2**i, 8) for i in range(depth + 1)]
            n_convs = list(VGG16_CONVS[: depth + 1])
        elif kind == "plain":
            if depth < 1:
                raise ValueError(f"depth must be >= 1, got {depth}")
            self.out_channels = [filters * 2**i for i in range(depth + 1)]
            n_convs = [2] * (depth + 1)
        else:
            raise ValueError(f"unknown encoder {kind!r}; valid: 'plain', 'vgg16'")
        chans = [in_ch, *self.out_channels]
        self.stages = nn.ModuleList(
            nn.Sequential(
                nn.MaxPool2d(2) if i > 0 else nn.Identity(),
                conv_block(chans[i], chans[i + 1], activation, multikernel, n_convs[i]),
            )
            for i in range(depth + 1)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)  # (B, out_channels[i], H / 2**i, W / 2**i)
            feats.append(x)
        return feats


class UNet(SegmentationNet):
    """U-Net with the options of `ModelSpec` (encoder, attention, multikernel, deep_supervision, depth,
    dropout). Stride 2**depth; the bottleneck `nn.Dropout2d(spec.dropout)` is the MC-dropout layer.

    Heads: final 1x1 conv at stride 1; with deep supervision, aux 1x1 convs on the decoder outputs at
    strides 2, 4, ..., 2**(depth-1) (returned in that order after the final head, train mode only).
    """

    def __init__(self, spec: ModelSpec, in_channels: int, num_classes: int) -> None:
        super().__init__(spec, in_channels, num_classes)
        act, mk = spec.activation, spec.multikernel
        self.stride = 2**spec.depth
        self.encoder = UNetEncoder(in_channels, spec.filters, spec.depth, act, mk, spec.encoder)
        ch = self.encoder.out_channels
        self.dropout = nn.Dropout2d(spec.dropout)
        # decoder steps from the deepest level up: step j brings level depth-j to level depth-j-1
        self.decoder = nn.ModuleList(
            DecoderStep(ch[i + 1], ch[i], ch[i], act, spec.attention, mk) for i in reversed(range(spec.depth))
        )
        self.final_head = nn.Conv2d(ch[0], num_classes, 1)
        self.head_strides = [2**i for i in range(spec.depth)]  # final (1), then aux 2, 4, ...
        self.aux_heads = SegmentationHeads(ch[1 : spec.depth], num_classes) if spec.deep_supervision else None

    def bottleneck(self, x: torch.Tensor) -> torch.Tensor:
        deepest: torch.Tensor = self.encoder(x)[-1]  # (B, ch[-1], H / stride, W / stride)
        return deepest

    def forward_padded(self, x: torch.Tensor, with_aux: bool) -> list[torch.Tensor]:
        feats = self.encoder(x)  # [(B, ch[i], H / 2**i, W / 2**i)]
        y = self.dropout(feats[-1])  # (B, ch[-1], H / stride, W / stride)
        decoded = []
        for step, skip in zip(self.decoder, reversed(feats[:-1]), strict=True):
            y = step(y, skip)  # (B, ch[i], H / 2**i, W / 2**i)
            decoded.append(y)
        outs = [self.final_head(decoded[-1])]  # [(B, K, H, W)]
        if with_aux and self.aux_heads is not None:
            outs += self.aux_heads(decoded[-2::-1])  # strides 2, 4, ..., 2**(depth-1)
        return outs
