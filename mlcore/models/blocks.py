"""Blocks built from layers: conv stacks, multi-kernel inception, attention gate, decoder step, heads."""

from __future__ import annotations

import torch
from torch import nn

from .layers import ConvNormAct, make_activation


class ConvBlock(nn.Sequential):
    """`n_convs` x (3x3 conv -> BN -> act). (B, in_ch, H, W) -> (B, out_ch, H, W)."""

    def __init__(self, in_ch: int, out_ch: int, activation: str = "ReLU", n_convs: int = 2) -> None:
        super().__init__(
            *[ConvNormAct(in_ch if i == 0 else out_ch, out_ch, 3, activation) for i in range(n_convs)]
        )


class InceptionModule(nn.Module):
    """Parallel 1x1, 3x3, 5x5 convolutions and a 3x3-max-pool -> 1x1 branch, concatenated and fused
    by a 1x1 conv. (B, in_ch, H, W) -> (B, out_ch, H, W)."""

    def __init__(self, in_ch: int, out_ch: int, activation: str = "ReLU") -> None:
        super().__init__()
        b = max(1, (out_ch + 3) // 4)  # channels per branch
        self.k1 = ConvNormAct(in_ch, b, 1, activation)
        self.k3 = ConvNormAct(in_ch, b, 3, activation)
        self.k5 = ConvNormAct(in_ch, b, 5, activation)
        self.pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), ConvNormAct(in_ch, b, 1, activation))
        self.fuse = ConvNormAct(4 * b, out_ch, 1, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.k1(x), self.k3(x), self.k5(x), self.pool(x)]  # 4 x (B, b, H, W)
        out: torch.Tensor = self.fuse(torch.cat(branches, dim=1))  # (B, out_ch, H, W)
        return out


class MultiKernelBlock(nn.Sequential):
    """Two inception modules: the multi-kernel (M) replacement of a double 3x3 conv block."""

    def __init__(self, in_ch: int, out_ch: int, activation: str = "ReLU") -> None:
        super().__init__(
            InceptionModule(in_ch, out_ch, activation), InceptionModule(out_ch, out_ch, activation)
        )


def conv_block(in_ch: int, out_ch: int, activation: str, multikernel: bool, n_convs: int = 2) -> nn.Module:
    """The stage block of a U-Net: multi-kernel when `multikernel`, else `n_convs` 3x3 convs."""
    if multikernel:
        return MultiKernelBlock(in_ch, out_ch, activation)
    return ConvBlock(in_ch, out_ch, activation, n_convs)


class AttentionGate(nn.Module):
    """Additive attention gate (Oktay et al. 2018) that replaces a skip connection (A).

    The gating signal g (decoder features, already up-sampled to the skip's size) decides, per pixel,
    how much of the skip features x pass: x * sigmoid(psi(act(Wx x + Wg g))).
    """

    def __init__(self, skip_ch: int, gate_ch: int, activation: str = "ReLU") -> None:
        super().__init__()
        inter = max(1, skip_ch // 2)
        self.wx = nn.Sequential(nn.Conv2d(skip_ch, inter, 1, bias=False), nn.BatchNorm2d(inter))
        self.wg = nn.Sequential(nn.Conv2d(gate_ch, inter, 1, bias=False), nn.BatchNorm2d(inter))
        self.act = make_activation(activation, inter)
        self.psi = nn.Sequential(nn.Conv2d(inter, 1, 1), nn.BatchNorm2d(1), nn.Sigmoid())

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """x: skip (B, Cx, H, W); g: gate (B, Cg, H, W) -> gated skip (B, Cx, H, W)."""
        alpha: torch.Tensor = self.psi(self.act(self.wx(x) + self.wg(g)))  # (B, 1, H, W) in (0, 1)
        return x * alpha  # (B, Cx, H, W)


class DecoderStep(nn.Module):
    """2x transposed-conv up-sampling, (gated) skip concatenation, then a stage block.

    (B, in_ch, h, w) + skip (B, skip_ch, 2h, 2w) -> (B, out_ch, 2h, 2w).
    """

    def __init__(
        self, in_ch: int, skip_ch: int, out_ch: int, activation: str, attention: bool, multikernel: bool
    ) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_ch, skip_ch, kernel_size=2, stride=2)
        self.gate = AttentionGate(skip_ch, skip_ch, activation) if attention else None
        self.block = conv_block(2 * skip_ch, out_ch, activation, multikernel)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = self.up(x)  # (B, skip_ch, 2h, 2w)
        if self.gate is not None:
            skip = self.gate(skip, up)  # (B, skip_ch, 2h, 2w)
        out: torch.Tensor = self.block(torch.cat([up, skip], dim=1))  # (B, out_ch, 2h, 2w)
        return out


class SegmentationHeads(nn.Module):
    """1x1 conv heads, one per decoder output: the final head and the deep-supervision (D) heads.

    `channels[i]` is the channel count of the i-th feature map passed to forward.
    """

    def __init__(self, channels: list[int], num_classes: int) -> None:
        super().__init__()
        self.heads = nn.ModuleList(nn.Conv2d(c, num_classes, 1) for c in channels)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        """feats[i]: (B, channels[i], h_i, w_i) -> logits[i]: (B, K, h_i, w_i)."""
        return [head(f) for head, f in zip(self.heads, feats, strict=True)]
