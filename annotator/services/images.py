"""Rendering slice channels for the browser: 8-bit windowed PNGs and lossless 16-bit PNGs."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from annotator.errors import InvalidInput

UINT16_MAX = 65535
# Window/level bounds: narrower windows divide by ~0 (1e-320 raised ZeroDivisionError), and values
# beyond float32's comfortable range turn the scaling into inf/NaN.
MIN_WINDOW = 1e-6
MAX_WINDOW_VALUE = 1e12


@dataclass
class Rendered16:
    """A 16-bit grey PNG plus the mapping back to real values: real = pixel * scale + offset."""

    png: bytes
    offset: float
    scale: float


def parse_window(window: str | None, level: str | None, stats: dict[str, float]) -> tuple[float, float]:
    """(low, high) display range from `window`/`level` query values, or p1..p99 from the stats.

    Raises InvalidInput naming the bad value (not a number, window <= 0, only one of the two given)."""
    if window in (None, "") and level in (None, ""):
        low, high = float(stats.get("p1", 0.0)), float(stats.get("p99", 0.0))
        if high <= low:  # a flat image: widen so the division below is defined
            high = low + 1.0
        return low, high
    if window in (None, "") or level in (None, ""):
        raise InvalidInput("give both window and level (or neither, for the default p1..p99 window)")
    try:
        width, centre = float(window), float(level)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidInput(f"window={window!r} and level={level!r} must be numbers") from exc
    if not np.isfinite(width) or not MIN_WINDOW <= width <= MAX_WINDOW_VALUE:
        raise InvalidInput(
            f"window must be a positive number between {MIN_WINDOW:g} and {MAX_WINDOW_VALUE:g}, got {window!r}"
        )
    if not np.isfinite(centre) or abs(centre) > MAX_WINDOW_VALUE:
        raise InvalidInput(
            f"level must be a number between {-MAX_WINDOW_VALUE:g} and {MAX_WINDOW_VALUE:g}, got {level!r}"
        )
    return centre - width / 2.0, centre + width / 2.0


def window_to_uint8(array: np.ndarray, low: float, high: float) -> np.ndarray:
    """(H, W) any dtype -> (H, W) uint8 with low -> 0 and high -> 255, clipped outside."""
    scaled = (array.astype(np.float32) - np.float32(low)) * np.float32(255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def png_bytes(image: Image.Image, compress_level: int = 1) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def render_8bit(array: np.ndarray, low: float, high: float) -> bytes:
    """(H, W) -> 8-bit greyscale PNG bytes of the windowed image."""
    return png_bytes(Image.fromarray(window_to_uint8(array, low, high), mode="L"))


def to_uint16(array: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(H, W) -> ((H, W) uint16, offset, scale) with real = pixel * scale + offset.

    Integer data whose range fits in 16 bits is exact (scale 1, offset min); anything else maps
    min..max linearly onto 0..65535 (float data, or integer ranges wider than 65535)."""
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    if finite.size == 0:
        return np.zeros(array.shape, dtype=np.uint16), 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    if array.dtype.kind in "iub" and high - low <= UINT16_MAX:
        shifted = array.astype(np.int64) - int(low)
        return shifted.astype(np.uint16), low, 1.0
    scale = (high - low) / UINT16_MAX if high > low else 1.0
    values = np.nan_to_num(array.astype(np.float64), nan=low, posinf=high, neginf=low)
    pixels = np.clip(np.rint((values - low) / scale), 0, UINT16_MAX).astype(np.uint16)
    return pixels, low, scale


def render_16bit(array: np.ndarray) -> Rendered16:
    """(H, W) -> 16-bit greyscale PNG of the full value range with its offset/scale."""
    pixels, offset, scale = to_uint16(array)
    image = Image.fromarray(pixels)  # uint16 -> mode "I;16", written as a 16-bit grey PNG
    return Rendered16(png=png_bytes(image), offset=offset, scale=scale)
