"""Small pieces every export format shares: names, label tables, one mask at a time."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from annotator.models import MaskRevision, Project, Series
from annotator.services.maskcodec import decode_mask


@dataclass
class ClassTable:
    """The project's label schema: index -> name and colour (index 0 is background)."""

    names: list[str]
    colours: list[str]

    @classmethod
    def of(cls, project: Project) -> ClassTable:
        rows = list(project.classes.order_by("index").values_list("name", "colour"))
        return cls([name for name, _ in rows], [colour for _, colour in rows])

    def present(self, labels: np.ndarray) -> list[int]:
        return [int(v) for v in np.unique(labels) if 0 < int(v) < len(self.names)]


@dataclass
class WriteReport:
    """What one format writer produced: counts and notes for the Job's result."""

    series: int = 0
    slices: int = 0
    files: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"series": self.series, "slices": self.slices, "files": self.files, "notes": self.notes[:50]}


def bids_label(text: str) -> str:
    """A BIDS entity label: letters and digits only ('S-01_a' -> 'S01a'); never empty."""
    return re.sub(r"[^A-Za-z0-9]", "", text) or "x"


def case_id(series: Series, index: int) -> str:
    """'<subject>_s<series id>_<plane>' e.g. 'VB301_s12_0038' (safe as a file name in every tool)."""
    return f"{bids_label(series.session.subject.label)}_s{series.pk}_{index:04d}"


def load_labels(revision_id: int) -> np.ndarray:
    """(H, W) uint8 class indices of one revision (only its PNG bytes are read)."""
    png = MaskRevision.objects.filter(pk=revision_id).values_list("png", flat=True).get()
    return decode_mask(bytes(png))
