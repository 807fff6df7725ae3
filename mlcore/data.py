"""Training data: per-volume z-score, the paper's augmentation, a patch-sampling Dataset and a folder
loader for MIDS trees and images/+masks/ PNG folders.

Shapes: images (C, H, W) float32 normalised, masks (H, W) int64; slices in the canonical sagittal
orientation of mlcore.io (rows superior -> inferior, columns anterior -> posterior).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from torch.utils.data import Dataset

from mlcore import io

IGNORE_INDEX = -100  # mask value of unlabelled samples (torch's cross-entropy default ignore_index)


def zscore_stats(volume: np.ndarray) -> tuple[float, float]:
    """Mean and std over the non-zero voxels of a volume (all voxels if none is non-zero); std is never 0."""
    arr = np.asarray(volume, dtype=np.float64)
    values = arr[arr != 0]
    if values.size == 0:
        values = arr.ravel()
    std = float(values.std()) if values.size else 0.0
    return (float(values.mean()) if values.size else 0.0), (std if std > 1e-8 else 1.0)


def zscore(arr: np.ndarray, mean: float, std: float) -> np.ndarray:
    """(arr - mean) / std as float32, any shape."""
    return ((np.asarray(arr, dtype=np.float32) - np.float32(mean)) / np.float32(std if std else 1.0)).astype(
        np.float32
    )


@dataclass
class Sample:
    id: str
    subject: str
    image: np.ndarray  # (C, H, W) float32, z-scored per volume
    mask: np.ndarray | None  # (H, W) int64 class ids, or None when unlabelled


def augment(
    image: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None]:
    """The paper's augmentation as one affine warp of image (C,H,W) and mask (H,W) together: rotation
    +-20 deg, zoom 0.5-1.5, horizontal flip p=0.5, shift up to 10% per axis. Image: linear interpolation,
    outside filled with each channel's minimum; mask: nearest neighbour, outside = 0 (no new values)."""
    _, h, w = image.shape
    angle = math.radians(rng.uniform(-20, 20))
    zoom = rng.uniform(0.5, 1.5)
    flip = rng.random() < 0.5
    shift = rng.uniform(-0.1, 0.1, 2) * np.array([h, w])
    cos, sin = math.cos(angle), math.sin(angle)
    # Output pixel o samples input pixel  A @ (o - centre - shift) + centre  (A = rotate . unzoom . flip).
    a = np.array([[cos, -sin], [sin, cos]]) / zoom @ np.diag([1.0, -1.0 if flip else 1.0])
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    offset = centre - a @ (centre + shift)
    out = np.empty_like(image, dtype=np.float32)
    for c in range(image.shape[0]):
        ndimage.affine_transform(
            image[c], a, offset, order=1, mode="constant", cval=float(image[c].min()), output=out[c]
        )
    if mask is None:
        return out, None
    warped = ndimage.affine_transform(mask, a, offset, order=0, mode="constant", cval=0)
    return out, warped.astype(mask.dtype, copy=False)


def _crop_or_pad(
    image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Random size x size window of image (C,H,W) / mask (H,W); pads (image: channel minimum, mask:
    background, or the ignore index when unlabelled) where the slice is smaller."""
    _, h, w = image.shape
    ph, pw = max(size - h, 0), max(size - w, 0)
    if ph or pw:
        top, left = ph // 2, pw // 2
        pad = ((top, ph - top), (left, pw - left))
        image = np.stack([np.pad(ch, pad, constant_values=ch.min()) for ch in image])
        mask = np.pad(mask, pad, constant_values=IGNORE_INDEX if (mask == IGNORE_INDEX).all() else 0)
        h, w = mask.shape
    y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    return image[:, y : y + size, x : x + size], mask[y : y + size, x : x + size]


class SliceDataset(Dataset):
    """Samples -> (image tensor (C,S,S) float32, mask tensor (S,S) int64) with S = patch_size (random
    window, padded when the slice is smaller) or whole slices (C,H,W)/(H,W) when patch_size is None.
    Unlabelled samples give a mask full of IGNORE_INDEX. Random draws are seeded per worker and epoch."""

    def __init__(
        self, samples: Sequence[Sample], augment: bool = False, patch_size: int | None = None, seed: int = 0
    ):
        self.samples = list(samples)
        self.augment = augment
        self.patch_size = patch_size
        self.seed = seed
        self._rng: np.random.Generator | None = None

    def __len__(self) -> int:
        return len(self.samples)

    def _generator(self) -> np.random.Generator:
        if self._rng is None:
            info = torch.utils.data.get_worker_info()
            # In a worker torch.initial_seed() changes every epoch, so augmentations differ between epochs.
            key = [self.seed] if info is None else [self.seed, info.id, torch.initial_seed() % 2**32]
            self._rng = np.random.default_rng(key)
        return self._rng

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        sample = self.samples[index]
        rng = self._generator()
        image = sample.image
        mask = sample.mask if sample.mask is not None else np.full(image.shape[1:], IGNORE_INDEX, np.int64)
        if self.augment:
            image, warped = augment(image, mask if sample.mask is not None else None, rng)
            mask = warped if warped is not None else mask
        if self.patch_size is not None:
            image, mask = _crop_or_pad(image, mask, self.patch_size, rng)
        return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)), torch.from_numpy(
            np.ascontiguousarray(mask, dtype=np.int64)
        )


def remap_labels(mask: np.ndarray, label_map: Mapping[int, int] | None, source: str) -> np.ndarray:
    """Map source mask values to schema class ids (0 stays 0 unless mapped); unknown values raise."""
    mask = np.asarray(mask).astype(np.int64)
    if label_map is None:
        return mask
    lut = {0: 0, **{int(k): int(v) for k, v in label_map.items()}}
    values = np.unique(mask)
    unknown = [int(v) for v in values if int(v) not in lut]
    if unknown:
        raise ValueError(f"{source}: mask values {unknown} are not in label_map {sorted(lut)}")
    out = np.zeros_like(mask)
    for v in values:
        out[mask == v] = lut[int(v)]
    return out


def _onto_grid(
    stack: np.ndarray, affine: np.ndarray, ref_shape: tuple[int, ...], ref_affine: np.ndarray, order: int
) -> np.ndarray:
    """Resample a stack onto the reference voxel grid (both as returned by io.read_sagittal)."""
    if stack.shape == tuple(ref_shape) and np.allclose(affine, ref_affine, atol=1e-3):
        return stack
    vox = np.linalg.inv(affine) @ ref_affine  # reference voxel -> source voxel
    return ndimage.affine_transform(
        stack, vox[:3, :3], vox[:3, 3], output_shape=tuple(ref_shape), order=order, mode="constant", cval=0
    )


def _load_mids(
    root: Path, channels: Sequence[str], mask_desc: str | None, label_map: Mapping[int, int] | None
) -> list[Sample]:
    samples: list[Sample] = []
    for series in io.find_mids_series(root):
        missing = [c for c in channels if c not in series.images]
        if channels[0] not in series.images:
            continue  # another kind of series (e.g. only T1w when T2w is asked for)
        if missing:
            raise ValueError(
                f"{series.stem}: channel(s) {missing} requested but only {sorted(series.images)} exist"
            )
        ref, ref_aff = io.read_sagittal(series.images[channels[0]])
        planes = [zscore(ref, *zscore_stats(ref))]
        for channel in channels[1:]:
            stack, aff = io.read_sagittal(series.images[channel])
            planes.append(zscore(_onto_grid(stack, aff, ref.shape, ref_aff, order=1), *zscore_stats(stack)))
        image = np.stack(planes, axis=1)  # (N, C, H, W)
        mask_path = series.masks.get(mask_desc) if mask_desc else None
        if mask_desc is None and len(series.masks) > 1:
            raise ValueError(
                f"{series.stem}: several masks {sorted(series.masks)}; pass mask_desc to choose one"
            )
        if mask_desc is None and series.masks:
            mask_path = next(iter(series.masks.values()))
        masks = None
        if mask_path is not None:
            raw, m_aff = io.read_sagittal(mask_path)
            masks = remap_labels(
                np.rint(_onto_grid(raw, m_aff, ref.shape, ref_aff, order=0)), label_map, mask_path.name
            )
        for i in range(image.shape[0]):
            samples.append(
                Sample(
                    f"{series.stem}/{i:03d}", series.subject, image[i], None if masks is None else masks[i]
                )
            )
    return samples


def load_folder(
    path: str | Path,
    channels: Sequence[str] = ("T2w",),
    mask_desc: str | None = None,
    label_map: Mapping[int, int] | None = None,
    labelled_only: bool = False,
) -> list[Sample]:
    """Samples from a MIDS tree (one per sagittal slice; subject = the sub- label) or from an
    images/N.png + masks/N.npy|png folder (each image its own subject). The sagittal axis is found from
    each NIfTI affine. label_map remaps source mask values to class ids; labelled_only drops slices
    without a mask or with an empty one."""
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder")
    if (root / "images").is_dir():
        if len(channels) != 1:
            raise ValueError(f"a PNG folder has one channel, {list(channels)} were requested")
        samples = [
            Sample(
                f"png/{name}",
                f"png-{name}",
                zscore(img, *zscore_stats(img))[None],
                None if mask is None else remap_labels(mask, label_map, f"masks/{name}"),
            )
            for name, img, mask in io.read_png_folder(root)
        ]
    elif io.is_mids_tree(root):
        samples = _load_mids(root, list(channels), mask_desc, label_map)
    else:
        raise ValueError(f"{root} is neither a MIDS tree (sub-*/) nor an images/ + masks/ folder")
    if labelled_only:
        samples = [s for s in samples if s.mask is not None and s.mask.any()]
    return samples
