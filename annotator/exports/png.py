"""PNG pairs for generic tools: images/<case>.png, masks/<case>.png and slices.csv.

Images are 8-bit greyscale when the stored slice is 8-bit, else 16-bit greyscale: integer data
whose range fits 16 bits is exact with `value = pixel * scale + offset` (offset and scale per row
of slices.csv), wider or float data is mapped linearly onto 0..65535. Extra channels (T1w
resampled onto the T2w grid) are images/<case>_<channel>.png. Masks are 8-bit indexed PNGs whose
pixel values are class indices and whose palette holds the project's colours.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image

from annotator.exports.common import ClassTable, WriteReport, case_id, load_labels
from annotator.exports.selection import SeriesItems
from annotator.services.images import to_uint16
from annotator.services.maskcodec import encode_mask
from annotator.services.slicedata import load_channel

COLUMNS = [
    "case",
    "image",
    "mask",
    "subject",
    "session",
    "series",
    "plane",
    "revision",
    "height",
    "width",
    "image_bits",
    "offset",
    "scale",
    "classes",
]


def _save_image(array: np.ndarray, path: Path) -> tuple[int, float, float]:
    if array.dtype == np.uint8:
        Image.fromarray(array, mode="L").save(path, compress_level=1)
        return 8, 0.0, 1.0
    pixels, offset, scale = to_uint16(array)
    Image.fromarray(pixels).save(path, compress_level=1)  # uint16 -> 16-bit greyscale PNG
    return 16, offset, scale


class PngWriter:
    """Writes pairs slice by slice and one CSV row per slice (the CSV is streamed to disk)."""

    def __init__(self, root: Path, classes: ClassTable) -> None:
        self.root, self.classes = root, classes
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "masks").mkdir(parents=True, exist_ok=True)
        self._csv: IO[str] = open(root / "slices.csv", "w", newline="")  # noqa: SIM115 (closed in close())
        self._rows = csv.DictWriter(self._csv, fieldnames=COLUMNS)
        self._rows.writeheader()

    def write_series(self, part: SeriesItems) -> WriteReport:
        series = part.series
        report = WriteReport(series=1)
        for slice_, revision_id in part.items:
            case = case_id(series, slice_.index)
            main = (
                series.modality if series.modality in (slice_.channels or {}) else next(iter(slice_.channels))
            )
            bits, offset, scale = _save_image(
                load_channel(slice_, main), self.root / "images" / f"{case}.png"
            )
            for channel in slice_.channels or {}:
                if channel != main:
                    _save_image(load_channel(slice_, channel), self.root / "images" / f"{case}_{channel}.png")
                    report.files += 1
            labels = load_labels(revision_id)
            (self.root / "masks" / f"{case}.png").write_bytes(encode_mask(labels, self.classes.colours))
            self._rows.writerow(
                {
                    "case": case,
                    "image": f"images/{case}.png",
                    "mask": f"masks/{case}.png",
                    "subject": series.session.subject.label,
                    "session": series.session.label,
                    "series": series.pk,
                    "plane": slice_.index,
                    "revision": revision_id,
                    "height": slice_.height,
                    "width": slice_.width,
                    "image_bits": bits,
                    "offset": offset,
                    "scale": scale,
                    "classes": ";".join(self.classes.names[i] for i in self.classes.present(labels)),
                }
            )
            report.slices += 1
            report.files += 2
        return report

    def close(self) -> None:
        self._csv.close()
