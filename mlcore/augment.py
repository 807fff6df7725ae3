"""Training patches: foreground-aware patch sampling and nnU-Net-like augmentation in one warp.

A patch is cut from a slice that is already at the plan's spacing. Its centre is, with probability
`fg_fraction`, a random pixel of a randomly chosen foreground class present in the slice (so rare
classes such as nerve roots are seen as often as the large ones), otherwise a random pixel of the
slice. The spatial part (rotation, scaling, optional anterior-posterior mirroring, the paper's +-10%
shift is implied by the random centre) is one affine warp that cuts the patch at the same time; the
intensity part follows nnU-Net's default (Isensee et al. 2021): Gaussian noise, Gaussian blur,
multiplicative brightness, contrast, simulated low resolution, gamma and inverted gamma; optionally
a random intensity curve (`p_curve`).

Shapes: image (C, H, W) float32, mask (H, W) int64 with IGNORE_INDEX where the truth is unknown;
patches (C, P, Q) and (P, Q). Pixels outside the slice are IGNORE_INDEX in the mask.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

IGNORE_INDEX = -100


@dataclass
class AugmentConfig:
    """Probabilities and ranges (nnU-Net defaults unless noted)."""

    rotate_deg: float = 20.0  # the paper's +-20 deg (nnU-Net 2D: +-180, wrong for upright spines)
    scale: tuple[float, float] = (0.7, 1.4)
    p_spatial: float = 0.8  # probability of rotation/scaling (nnU-Net: 0.2 each)
    # Anterior <-> posterior flip: the paper's p = 1/2, but no spine looks like that; off by default
    # (measured on real MRI, bench/RESULTS.md "Augmentation for other sites").
    p_mirror: float = 0.0
    p_noise: float = 0.1
    noise_var: tuple[float, float] = (0.0, 0.1)
    p_blur: float = 0.2
    blur_sigma: tuple[float, float] = (0.5, 1.0)
    p_brightness: float = 0.15
    brightness: tuple[float, float] = (0.75, 1.25)
    p_contrast: float = 0.15
    contrast: tuple[float, float] = (0.75, 1.25)
    p_gamma: float = 0.3
    gamma: tuple[float, float] = (0.7, 1.5)
    p_invert_gamma: float = 0.1  # gamma applied from the bright end (nnU-Net's inverted gamma)
    p_lowres: float = 0.25  # a coarser acquisition (nnU-Net's): nearest down, cubic back up
    lowres_zoom: tuple[float, float] = (0.5, 1.0)
    # A random smooth intensity curve (Models Genesis' Bezier transform, Zhou et al. 2021), inverted
    # with `curve_invert`: tissues' relative brightness changes the way another scanner or sequence
    # changes it, so the network must lean on shape. Off in the default, on in "multisite".
    p_curve: float = 0.0
    curve_invert: float = 0.5
    # The same intensity draws for every channel: channels that are one series' neighbouring slices
    # (2.5D input) share a contrast. False: each channel draws its own (different sequences).
    tie_channels: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# The BIMCV MIDAS paper's augmentation: rotation +-20 deg, zoom 0.5-1.5, horizontal flip p = 1/2 (its
# shift up to 10 % is the random patch centre); no intensity transforms.
PAPER_AUGMENT = AugmentConfig(
    rotate_deg=20.0, scale=(0.5, 1.5), p_spatial=1.0, p_mirror=0.5, p_noise=0.0, p_blur=0.0,
    p_brightness=0.0, p_contrast=0.0, p_gamma=0.0, p_invert_gamma=0.0, p_lowres=0.0,
)  # fmt: skip

# The recipe's default plus random intensity curves (p 0.3, inverted half the time), for data from
# several scanners and sequences and models that must work on sites they never saw: on real MRI at
# 2,400 steps it raised vertebra IoU on left-out sites by 7 points and cost 0.1-0.9 within a site (two
# seeds; bench/RESULTS.md "Random intensity curves", "A second seed"); classes told apart by brightness alone (the
# phantom's intramuscular fat) are what it takes away. Never-inverted curves keep those classes but
# only a third of the left-out gain (RESULTS "Monotone curves on real MRI").
MULTISITE_AUGMENT = AugmentConfig(p_curve=0.3)

NO_AUGMENT = AugmentConfig(
    rotate_deg=0.0, scale=(1.0, 1.0), p_spatial=0.0, p_mirror=0.0, p_noise=0.0, p_blur=0.0,
    p_brightness=0.0, p_contrast=0.0, p_gamma=0.0, p_invert_gamma=0.0, p_lowres=0.0,
)  # fmt: skip


class ForegroundIndex:
    """Per slice, the flat pixel indices of each foreground class (built once, then reused)."""

    def __init__(self, mask: np.ndarray | None) -> None:
        self.shape = (0, 0) if mask is None else mask.shape
        self.by_class: dict[int, np.ndarray] = {}
        if mask is None:
            return
        flat = mask.ravel()
        for value in np.unique(flat):
            if value > 0:
                self.by_class[int(value)] = np.flatnonzero(flat == value).astype(np.int32)

    def random_pixel(self, rng: np.random.Generator) -> tuple[int, int] | None:
        if not self.by_class:
            return None
        pixels = self.by_class[list(self.by_class)[int(rng.integers(len(self.by_class)))]]
        flat = int(pixels[int(rng.integers(len(pixels)))])
        row, col = divmod(flat, int(self.shape[1]))
        return row, col


def sample_patch(
    image: np.ndarray,
    mask: np.ndarray,
    patch: tuple[int, int],
    rng: np.random.Generator,
    aug: AugmentConfig,
    fg_index: ForegroundIndex | None = None,
    fg_fraction: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """One augmented training patch: image (C, H, W), mask (H, W) -> (C, *patch), (*patch)."""
    _, h, w = image.shape
    centre: tuple[float, float] | None = None
    if fg_index is not None and rng.random() < fg_fraction:
        centre = fg_index.random_pixel(rng)
    if centre is None:
        # A random window inside the slice (or, when the slice is smaller, the slice inside the window).
        centre = tuple(
            rng.uniform(min(p / 2, n - p / 2), max(p / 2, n - p / 2)) - 0.5
            for p, n in zip(patch, (h, w), strict=True)
        )
    angle, zoom = 0.0, 1.0
    if rng.random() < aug.p_spatial:
        angle = math.radians(rng.uniform(-aug.rotate_deg, aug.rotate_deg))
        zoom = math.exp(rng.uniform(math.log(aug.scale[0]), math.log(aug.scale[1])))
    flip = rng.random() < aug.p_mirror
    # Output pixel o samples input  A @ (o - patch centre) + slice centre,  A = rotate . unzoom . flip.
    cos, sin = math.cos(angle), math.sin(angle)
    a = np.array([[cos, -sin], [sin, cos]]) / zoom @ np.diag([1.0, -1.0 if flip else 1.0])
    out_centre = np.array([(patch[0] - 1) / 2, (patch[1] - 1) / 2])
    offset = np.asarray(centre, dtype=np.float64) - a @ out_centre
    out = np.empty((image.shape[0], *patch), np.float32)
    for c in range(image.shape[0]):
        ndimage.affine_transform(
            image[c], a, offset, output_shape=patch, order=1, mode="constant",
            cval=float(image[c].min()), output=out[c], prefilter=False,
        )  # fmt: skip
    labels = ndimage.affine_transform(
        mask, a, offset, output_shape=patch, order=0, mode="constant", cval=IGNORE_INDEX, prefilter=False
    ).astype(np.int64, copy=False)
    return intensity_augment(out, rng, aug), labels


def intensity_augment(image: np.ndarray, rng: np.random.Generator, aug: AugmentConfig) -> np.ndarray:
    """nnU-Net's intensity transforms on a z-scored patch (C, H, W), in place where possible; with
    `aug.tie_channels` every channel gets the same random draws."""
    tied = int(rng.integers(2**63)) if aug.tie_channels else None
    for c in range(image.shape[0]):
        ch = image[c]
        if tied is not None:
            rng = np.random.default_rng(tied)
        if rng.random() < aug.p_noise:
            ch += rng.normal(0.0, math.sqrt(rng.uniform(*aug.noise_var)), ch.shape).astype(np.float32)
        if rng.random() < aug.p_blur:
            ch[...] = ndimage.gaussian_filter(ch, rng.uniform(*aug.blur_sigma))
        if rng.random() < aug.p_brightness:
            ch *= np.float32(rng.uniform(*aug.brightness))
        if rng.random() < aug.p_contrast:
            lo, hi, mean = ch.min(), ch.max(), ch.mean()
            ch[...] = np.clip((ch - mean) * np.float32(rng.uniform(*aug.contrast)) + mean, lo, hi)
        if aug.p_lowres and rng.random() < aug.p_lowres:
            zoom = rng.uniform(*aug.lowres_zoom)
            small = tuple(max(1, round(n * zoom)) for n in ch.shape)
            coarse = ndimage.zoom(ch, [a / b for a, b in zip(small, ch.shape, strict=True)], order=0)
            ch[...] = ndimage.zoom(
                coarse, [a / b for a, b in zip(ch.shape, coarse.shape, strict=True)], order=3
            )[: ch.shape[0], : ch.shape[1]]
        if aug.p_invert_gamma and rng.random() < aug.p_invert_gamma:
            lo, hi = float(ch.min()), float(ch.max())
            span = max(hi - lo, 1e-6)
            ch[...] = hi - np.power((hi - ch) / span, rng.uniform(*aug.gamma)) * span
        if rng.random() < aug.p_gamma:
            lo, hi = float(ch.min()), float(ch.max())
            span = max(hi - lo, 1e-6)
            ch[...] = np.power((ch - lo) / span, rng.uniform(*aug.gamma)) * span + lo
        if aug.p_curve and rng.random() < aug.p_curve:
            ch[...] = intensity_curve(ch, rng, invert=rng.random() < aug.curve_invert)
    return image


def intensity_curve(ch: np.ndarray, rng: np.random.Generator, invert: bool) -> np.ndarray:
    """`ch` through a random cubic Bezier curve from its minimum to its maximum (two random control
    points, so monotone or not), turned upside down if `invert`; the value range is kept."""
    lo, hi = float(ch.min()), float(ch.max())
    span = max(hi - lo, 1e-6)
    p1, p2 = rng.random(2), rng.random(2)
    t = np.linspace(0.0, 1.0, 256)[:, None]
    curve = 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3  # P0 = (0, 0), P3 = (1, 1)
    xs, ys = curve[:, 0], curve[:, 1]
    order = np.argsort(xs, kind="stable")
    mapped = np.interp((ch - lo) / span, xs[order], ys[order])
    if invert:
        mapped = 1.0 - mapped
    return (mapped * span + lo).astype(np.float32)


# The named presets: "nnunet" (the default: the paper's spatial part + nnU-Net's intensity part),
# "multisite" (the default + random intensity curves), "paper", "none" (what `augment=False` means).
AUGMENTATIONS: dict[str, AugmentConfig] = {
    "nnunet": AugmentConfig(),
    "multisite": MULTISITE_AUGMENT,
    "paper": PAPER_AUGMENT,
    "none": NO_AUGMENT,
}


def augmentation(name: str) -> AugmentConfig:
    """The preset called `name` (AUGMENTATIONS); ValueError naming the choices otherwise."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}: choose one of {sorted(AUGMENTATIONS)}")
    return AUGMENTATIONS[name]
