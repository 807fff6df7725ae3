"""One home for the geometry and intensity rules shared by the importers and training.

- Orientation: every volume is re-oriented so axis 0 runs left -> right (sagittal planes), rows run
  superior -> inferior and columns anterior -> posterior (orientation codes R, I, P), found from the
  affine, never assumed.
- Intensity: per-volume z-score over the non-zero voxels (the paper's pre-processing).
- Spacing: a `Plan` fitted to the training data (target in-plane spacing = the median spacing, like
  nnU-Net's plans; patch size from it). Slices are resampled to the plan's spacing for training and
  inference, and predictions back onto each slice's own grid.

Pure NumPy / SciPy / nibabel: no torch, so web processes that import it stay lean.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from nibabel.orientations import (
    aff2axcodes,
    apply_orientation,
    axcodes2ornt,
    inv_ornt_aff,
    io_orientation,
    ornt_transform,
)
from scipy import ndimage

SAGITTAL_CODES = ("R", "I", "P")
NORMALISATION = "zscore over non-zero voxels, per volume and channel"


# --- orientation -----------------------------------------------------------------------------------
def to_sagittal(volume: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Re-orient a 3D volume so axis 0 runs along L-R (sagittal planes), axis 1 S->I, axis 2 A->P.

    volume: (X, Y, Z) in any axis order (a trailing singleton 4th axis is dropped); affine: 4x4
    voxel -> RAS+ mm. Returns (volume (P, R, C) contiguous, the affine of the new voxel grid)."""
    if volume.ndim == 4 and volume.shape[3] == 1:
        volume = volume[..., 0]
    if volume.ndim != 3:
        raise ValueError(f"expected a 3D volume, got shape {volume.shape}")
    source = io_orientation(affine)
    transform = ornt_transform(source, axcodes2ornt(SAGITTAL_CODES))
    out = apply_orientation(volume, transform)
    new_affine = np.asarray(affine) @ inv_ornt_aff(transform, volume.shape)
    return np.ascontiguousarray(out), new_affine


def from_sagittal(stack: np.ndarray, source_affine: np.ndarray, source_shape: Sequence[int]) -> np.ndarray:
    """Inverse of `to_sagittal`: a (P, R, C) stack back into the source volume's own axis order, so
    it can be saved with the source affine. source_shape is the source volume's 3D shape."""
    source = io_orientation(source_affine)
    transform = ornt_transform(axcodes2ornt(SAGITTAL_CODES), source)
    out = apply_orientation(stack, transform)
    if tuple(out.shape) != tuple(source_shape[:3]):
        raise ValueError(f"stack of shape {stack.shape} does not come from a volume of shape {source_shape}")
    return np.ascontiguousarray(out)


def spacing_of(affine: np.ndarray) -> list[float]:
    """mm per voxel along each axis: the column norms of the 3x3 part."""
    return [float(v) for v in np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)]


def axcodes(affine: np.ndarray) -> str:
    return "".join(str(c) for c in aff2axcodes(affine))


def resample_onto(
    moving: np.ndarray,
    moving_affine: np.ndarray,
    ref_shape: Sequence[int],
    ref_affine: np.ndarray,
    order: int = 1,
) -> np.ndarray:
    """Resample a 3D `moving` volume onto a reference voxel grid through world coordinates.

    Voxels outside the moving volume become 0; integer input keeps its dtype (rounded); label
    volumes should use order=0. Returns an array of shape `ref_shape`."""
    ref_shape = tuple(int(s) for s in ref_shape)
    if moving.shape == ref_shape and np.allclose(moving_affine, ref_affine, atol=1e-3):
        return moving
    to_moving = np.linalg.inv(moving_affine) @ np.asarray(ref_affine)  # ref voxel -> moving voxel
    rows, cols = np.meshgrid(np.arange(ref_shape[1]), np.arange(ref_shape[2]), indexing="ij")
    is_int = moving.dtype.kind in "iu"
    out = np.zeros(ref_shape, dtype=np.float32 if is_int else moving.dtype)
    source = moving.astype(np.float32) if is_int else moving
    # Plane by plane keeps the coordinate arrays small (3 x R x C instead of 3 x P x R x C).
    for plane in range(ref_shape[0]):
        ijk = np.stack([np.full(rows.shape, plane), rows, cols, np.ones(rows.shape)]).reshape(4, -1)
        coords = (to_moving @ ijk)[:3]
        out[plane] = ndimage.map_coordinates(source, coords, order=order, mode="constant", cval=0.0).reshape(
            rows.shape
        )
    if is_int:
        info = np.iinfo(moving.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(moving.dtype)
    return out


# --- intensity -------------------------------------------------------------------------------------
def zscore_stats(volume: np.ndarray) -> tuple[float, float]:
    """(mean, std) over the non-zero voxels of a volume (all voxels if none is non-zero); std is never 0."""
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


# --- in-plane spacing ------------------------------------------------------------------------------
def resampled_shape(
    shape: Sequence[int], spacing: Sequence[float], target: Sequence[float]
) -> tuple[int, int]:
    """(H, W) of a slice of `shape` (H, W) at `spacing` (row, col mm) once resampled to `target`."""
    return (
        max(1, round(shape[0] * spacing[0] / target[0])),
        max(1, round(shape[1] * spacing[1] / target[1])),
    )


def resize_image(image: np.ndarray, shape: Sequence[int], order: int = 1) -> np.ndarray:
    """Resize a (C, H, W) float image (or (K, H, W) probabilities) to (C, *shape), aligning pixel
    centres of the first and last rows/columns' outer edges (scale = new/old per axis)."""
    arr = np.asarray(image, dtype=np.float32)
    if arr.shape[1:] == tuple(shape):
        return arr
    zoom = (shape[0] / arr.shape[1], shape[1] / arr.shape[2])
    out = np.empty((arr.shape[0], int(shape[0]), int(shape[1])), np.float32)
    for c in range(arr.shape[0]):
        out[c] = _zoom_plane(arr[c], zoom, tuple(shape), order)
    return out


def resize_labels(labels: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Nearest-neighbour resize of a (H, W) label map to `shape`, same pixel-centre convention as
    `resize_image`; the same shape gives back the same labels exactly."""
    arr = np.asarray(labels)
    if arr.shape == tuple(shape):
        return arr.copy()
    zoom = (shape[0] / arr.shape[0], shape[1] / arr.shape[1])
    return _zoom_plane(arr, zoom, tuple(shape), 0).astype(arr.dtype, copy=False)


def _zoom_plane(
    plane: np.ndarray, zoom: tuple[float, float], shape: tuple[int, ...], order: int
) -> np.ndarray:
    # Output pixel o samples input (o + 0.5) / zoom - 0.5: pixel areas, not corner pixels, line up.
    matrix = np.array([1 / zoom[0], 1 / zoom[1]])
    offset = 0.5 / np.array(zoom) - 0.5
    out: np.ndarray = ndimage.affine_transform(
        plane, matrix, offset, output_shape=shape, order=order, mode="nearest", prefilter=False
    )
    return out


def resample_probs_back(probs: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Probabilities (K, h, w) at plan spacing -> (K, *shape) on the slice's own grid (bilinear),
    renormalised so they still sum to 1 per pixel."""
    out = resize_image(probs, shape, order=1)
    total = out.sum(axis=0, keepdims=True)
    renormalised: np.ndarray = out / np.maximum(total, 1e-8)
    return renormalised


# --- plans -----------------------------------------------------------------------------------------
@dataclass
class Plan:
    """How slices are presented to a network; fitted once to the training data, stored in every
    checkpoint so inference presents new slices the same way.

    target_spacing: (row, col) mm per pixel for training and inference.
    patch_size: (H, W) training patch, a multiple of the network's stride.
    median_shape: (H, W) of a median training slice after resampling (for the record).
    channels: input channel names in order; normalisation: how each channel was normalised."""

    target_spacing: tuple[float, float]
    patch_size: tuple[int, int]
    median_shape: tuple[int, int] = (0, 0)
    channels: tuple[str, ...] = ("T2w",)
    normalisation: str = NORMALISATION

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        names = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names
        }
        return cls(**values)

    def slice_shape(self, shape: Sequence[int], spacing: Sequence[float]) -> tuple[int, int]:
        """(H, W) of a slice of this shape and spacing at the plan's spacing."""
        return resampled_shape(shape, spacing, self.target_spacing)


def fit_plan(
    shapes: Sequence[Sequence[int]],
    spacings: Sequence[Sequence[float]],
    channels: Sequence[str] = ("T2w",),
    stride: int = 16,
    max_patch: int = 256,
    min_spacing: float | None = None,
) -> Plan:
    """Plan from the training slices' (H, W) shapes and (row, col) mm spacings.

    target spacing = the median spacing per axis (nnU-Net), raised to `min_spacing` mm when given (a
    coarser plan for CPU budgets); patch = the median resampled slice, rounded up to a multiple of
    `stride` and capped at `max_patch` pixels per side."""
    if not shapes or len(shapes) != len(spacings):
        raise ValueError(
            f"fit_plan needs one spacing per shape, got {len(shapes)} shapes, {len(spacings)} spacings"
        )
    sp = np.asarray(spacings, dtype=np.float64)
    if sp.ndim != 2 or sp.shape[1] != 2 or not np.all(np.isfinite(sp)) or np.any(sp <= 0):
        raise ValueError(f"spacings must be positive (row, col) mm pairs, got {spacings[:3]}...")
    target = np.median(sp, axis=0)
    if min_spacing is not None:
        target = np.maximum(target, float(min_spacing))
    sizes = np.asarray(
        [resampled_shape(s, p, target.tolist()) for s, p in zip(shapes, sp.tolist(), strict=True)]
    )
    median = np.median(sizes, axis=0)
    patch = tuple(int(min(max_patch, max(stride, math.ceil(m / stride) * stride))) for m in median)
    return Plan(
        target_spacing=(round(float(target[0]), 4), round(float(target[1]), 4)),
        patch_size=(patch[0], patch[1]),
        median_shape=(int(median[0]), int(median[1])),
        channels=tuple(channels),
    )
