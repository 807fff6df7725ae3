"""Plain values the readers return and the service persists. No Django here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class ImportedMask:
    """A reference label volume on its image's grid, with the source's own label values.

    volume: (P, R, C) integer array (same shape as the image volume after re-orientation).
    label_table: source value -> name from the dataset (e.g. {1: "L1"}); may be empty.
    """

    desc: str
    volume: np.ndarray
    label_table: dict[int, str]
    source_name: str
    structure: str = ""


@dataclass
class ImportedSeries:
    """One acquired volume as planes.

    volume: (P, R, C) in the original value range (int16/uint16/uint8/float32 after rescale);
    P = sagittal planes for NIfTI/PNG (rows superior->inferior, cols anterior->posterior), or the
    acquired planes for DICOM (see `view`).
    affine: 4x4 voxel (plane, row, col) -> world RAS+ millimetres.
    spacing: mm per voxel along (plane, row, col).
    source_files: (name inside the import, path on disk) for every original that belongs to it.
    """

    subject: str
    session: str
    modality: str
    view: str
    source_format: str
    series_uid: str
    volume: np.ndarray
    spacing: list[float]
    affine: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    source_files: list[tuple[str, Path]] = field(default_factory=list)
    masks: list[ImportedMask] = field(default_factory=list)
    description: str = ""


@dataclass
class ReadResult:
    """What a reader found: series plus notes about files it skipped on purpose."""

    series: list[ImportedSeries]
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    series_ids: list[int] = field(default_factory=list)
    slices: int = 0
    skipped_duplicates: list[str] = field(default_factory=list)
    masks: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "series": self.series_ids,
            "slices": self.slices,
            "skipped_duplicates": self.skipped_duplicates,
            "masks": self.masks,
            "notes": self.notes,
        }

    def summary(self) -> str:
        text = (
            f"imported {len(self.series_ids)} series, {self.slices} slices, {self.masks} reference masks; "
            f"{len(self.skipped_duplicates)} duplicate series skipped"
        )
        return "\n".join([text, *(f"note: {n}" for n in self.notes)])
