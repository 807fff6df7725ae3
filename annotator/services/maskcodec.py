"""The mask wire and storage format: an 8-bit indexed PNG whose pixel values are class indices.

A 512x512 12-class mask is a few KB this way (REFERENCE.md: Label Studio's RLE of RGBA is ~21 KB).
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image

from annotator.errors import InvalidMask

# PIL imports its common format plugins (PNG, JPEG, GIF, BMP, PPM: ~4 MB while loading) on the first
# open or save of a process. Loading them with this module moves that to a worker's boot, which the
# child process each task runs in shares, instead of every task's first mask (bench/RESULTS.md, "Memory").
Image.preinit()


def palette_bytes(colours: list[str]) -> list[int]:
    """A 256-entry RGB palette list for PIL from '#rrggbb' colours (unused entries black)."""
    flat: list[int] = []
    for colour in colours[:256]:
        flat += [int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)]
    return flat + [0] * (768 - len(flat))


def encode_mask(labels: np.ndarray, colours: list[str] | None = None) -> bytes:
    """(H, W) integer label map -> indexed PNG bytes. Values must already be validated."""
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette(palette_bytes(colours or []))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def decode_mask(data: bytes) -> np.ndarray:
    """PNG bytes -> (H, W) uint8 label map. Accepts indexed ('P') or 8-bit grey ('L') PNGs."""
    if not data:
        raise InvalidMask("the mask body is empty: send an 8-bit indexed PNG")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # PIL raises many types for garbage input
        raise InvalidMask(f"the mask is not a readable PNG ({exc.__class__.__name__})") from exc
    if image.format != "PNG":
        raise InvalidMask(f"the mask must be a PNG, got {image.format}")
    if image.mode not in ("P", "L"):
        raise InvalidMask(
            f"the mask PNG has mode {image.mode}; send an 8-bit indexed (P) or greyscale (L) PNG "
            "whose pixel values are class indices"
        )
    return np.asarray(image, dtype=np.uint8).copy()


def validate_mask(labels: np.ndarray, height: int, width: int, num_classes: int) -> None:
    """Raise InvalidMask naming the problem when shape or class values do not fit the slice."""
    if labels.ndim != 2:
        raise InvalidMask(f"the mask must be 2D, got {labels.ndim} dimensions")
    if labels.shape != (height, width):
        raise InvalidMask(
            f"mask shape {labels.shape[0]}x{labels.shape[1]} does not match the slice ({height}x{width})",
            expected_shape=[height, width],
            got_shape=list(labels.shape),
        )
    if labels.size and int(labels.max()) >= num_classes:
        bad = sorted({int(v) for v in np.unique(labels) if v >= num_classes})
        raise InvalidMask(
            f"class value(s) {bad} out of range: this project's schema has classes 0..{num_classes - 1}",
            invalid_values=bad,
        )


def mask_hash(labels: np.ndarray) -> str:
    hasher = hashlib.sha256()
    hasher.update(np.asarray(labels.shape, dtype=np.int64).tobytes())
    hasher.update(np.ascontiguousarray(labels, dtype=np.uint8).tobytes())
    return hasher.hexdigest()


def class_counts(labels: np.ndarray, num_classes: int) -> list[int]:
    return np.bincount(labels.ravel(), minlength=num_classes)[:num_classes].astype(int).tolist()
