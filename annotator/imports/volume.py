"""Volume geometry: re-orientation to sagittal planes, resampling between grids, z-score stats.

Stored convention (every NIfTI/PNG series, documented in the report): a volume is (P, R, C) with
P = sagittal planes ordered left -> right (index grows toward the patient's right, as +x in NIfTI's
RAS and in mlcore.phantom's MIDS trees), R = rows from superior to inferior, C = columns from anterior to posterior. Shown as an image,
a plane is upright with the anterior side on the left, the way radiologists read sagittal MRI.
"""

from __future__ import annotations

import numpy as np
from nibabel.orientations import (
    aff2axcodes,
    apply_orientation,
    axcodes2ornt,
    inv_ornt_aff,
    io_orientation,
    ornt_transform,
)
from scipy.ndimage import map_coordinates

SAGITTAL_CODES = ("R", "I", "P")


def spacing_of(affine: np.ndarray) -> list[float]:
    """mm per voxel along each axis: the column norms of the 3x3 part."""
    return [float(v) for v in np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)]


def to_sagittal(volume: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Re-orient a 3D volume so that axis 0 runs along L-R (sagittal planes), axis 1 S->I, axis 2 A->P.

    The L-R axis is found from the affine (nibabel.io_orientation), never assumed.
    volume: (X, Y, Z) any order; affine: 4x4 voxel -> RAS+ mm.
    Returns (volume (P, R, C), affine of the new voxel grid)."""
    source = io_orientation(affine)
    transform = ornt_transform(source, axcodes2ornt(SAGITTAL_CODES))
    out = apply_orientation(volume, transform)
    new_affine = np.asarray(affine) @ inv_ornt_aff(transform, volume.shape)
    return np.ascontiguousarray(out), new_affine


def axcodes(affine: np.ndarray) -> str:
    return "".join(str(c) for c in aff2axcodes(affine))


def view_of(affine: np.ndarray) -> str:
    """'sag', 'cor' or 'ax' from the direction of axis 0 (the plane normal)."""
    normal = np.abs(np.asarray(affine)[:3, 0])
    return ("sag", "cor", "ax")[int(np.argmax(normal))]


def resample_onto(
    moving: np.ndarray,
    moving_affine: np.ndarray,
    ref_shape: tuple[int, ...],
    ref_affine: np.ndarray,
    order: int = 1,
) -> np.ndarray:
    """Resample `moving` (3D) onto the reference grid through world coordinates.

    Voxels outside the moving volume become 0. Integer input keeps its dtype (rounded); label
    volumes should use order=0. Returns an array of shape `ref_shape`."""
    to_moving = np.linalg.inv(moving_affine) @ np.asarray(ref_affine)  # ref voxel -> moving voxel
    rows, cols = np.meshgrid(np.arange(ref_shape[1]), np.arange(ref_shape[2]), indexing="ij")
    out = np.zeros(ref_shape, dtype=np.float32 if moving.dtype.kind in "iu" else moving.dtype)
    source = moving.astype(np.float32) if moving.dtype.kind in "iu" else moving
    # Plane by plane keeps the coordinate arrays small (3 x R x C instead of 3 x P x R x C).
    for plane in range(ref_shape[0]):
        ijk = np.stack([np.full(rows.shape, plane), rows, cols, np.ones(rows.shape)]).reshape(4, -1)
        coords = (to_moving @ ijk)[:3]
        out[plane] = map_coordinates(source, coords, order=order, mode="constant", cval=0.0).reshape(
            rows.shape
        )
    if moving.dtype.kind in "iu":
        info = np.iinfo(moving.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(moving.dtype)
    return out


def zscore_stats(volume: np.ndarray) -> tuple[float, float]:
    """(mean, std) over non-zero voxels, for per-volume z-score normalisation."""
    try:
        from mlcore.data import zscore_stats as mlcore_zscore_stats
    except ImportError:
        values = volume[volume != 0].astype(np.float64)
        if values.size == 0:
            return 0.0, 1.0
        std = float(values.std())
        return float(values.mean()), std if std > 0 else 1.0
    mean, std = mlcore_zscore_stats(volume)
    return float(mean), float(std)
