"""Slice pixel arrays in the configured storage (local media or S3), one 2D .npy per channel."""

from __future__ import annotations

import io

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from annotator.errors import NotFound
from annotator.models import Slice


def save_array(path: str, array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return default_storage.save(path, ContentFile(buffer.getvalue()))


def load_array(path: str) -> np.ndarray:
    with default_storage.open(path, "rb") as handle:
        return np.load(io.BytesIO(handle.read()), allow_pickle=False)


def channel_stats(array: np.ndarray) -> dict[str, float]:
    values = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    if values.size == 0:
        return {"min": 0.0, "max": 0.0, "p1": 0.0, "p99": 0.0}
    p1, p99 = np.percentile(values, [1, 99])
    return {"min": float(values.min()), "max": float(values.max()), "p1": float(p1), "p99": float(p99)}


def load_channel(slice_: Slice, channel: str | None = None) -> np.ndarray:
    """(H, W) array of one channel in the original value range; default: the first channel."""
    if not slice_.channels:
        raise NotFound(f"slice {slice_.pk} has no image data")
    name = channel or next(iter(slice_.channels))
    if name not in slice_.channels:
        raise NotFound(f"slice {slice_.pk} has no channel {name!r}; it has {sorted(slice_.channels)}")
    return load_array(slice_.channels[name])
