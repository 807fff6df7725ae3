"""nnU-Net v2 raw dataset of 2D slices: imagesTr/, labelsTr/, dataset.json, splits_final.json.

Each labelled slice is one training case `<subject>_s<series>_<plane>`: one NIfTI per channel
(`<case>_0000.nii.gz` = T2w, `_0001` = T1w when chosen) of shape (rows, cols, 1) with the slice's
spacing in its affine (row mm, column mm, plane mm), and `labelsTr/<case>.nii.gz` with the class
indices. nnU-Net treats a one-plane volume as 2D. splits_final.json lists, per fold of the
project's saved patient-level split, the cases of the validation subjects (all of a subject's
slices stay in one fold, as in SpineLab's own rounds), the rest as training cases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from annotator.exports.common import ClassTable, WriteReport, case_id, load_labels
from annotator.exports.selection import SeriesItems
from annotator.services.slicedata import load_channel

FILE_ENDING = ".nii.gz"


def _plane(array: np.ndarray, spacing: list[float]) -> Any:
    """(H, W) -> a NIfTI of shape (H, W, 1) whose voxel sizes are (row, col, plane) mm."""
    plane_mm, row_mm, col_mm = (float(v) for v in (spacing or [1.0, 1.0, 1.0]))
    affine = np.diag([row_mm, col_mm, plane_mm, 1.0])
    image = nib.Nifti1Image(np.ascontiguousarray(array)[:, :, None], affine)
    image.set_sform(affine, code=1)
    image.set_qform(affine, code=1)
    return image


class NnUNetWriter:
    """Writes cases slice by slice; `finish` writes dataset.json and splits_final.json."""

    def __init__(self, root: Path, classes: ClassTable, channels: list[str]) -> None:
        self.root, self.classes, self.channels = root, classes, channels
        (root / "imagesTr").mkdir(parents=True, exist_ok=True)
        (root / "labelsTr").mkdir(parents=True, exist_ok=True)
        self.cases_by_subject: dict[str, list[str]] = {}

    def write_series(self, part: SeriesItems) -> WriteReport:
        series = part.series
        report = WriteReport(series=1)
        subject = series.session.subject.label
        for slice_, revision_id in part.items:
            missing = [c for c in self.channels if c not in (slice_.channels or {})]
            if missing:
                report.notes.append(
                    f"slice {slice_.pk} (series {series.pk}) has no {missing} channel; skipped"
                )
                continue
            case = case_id(series, slice_.index)
            for number, channel in enumerate(self.channels):
                image = load_channel(slice_, channel)
                if image.dtype.kind == "f" and image.dtype != np.float32:
                    image = image.astype(np.float32)
                nib.save(
                    _plane(image, series.spacing),
                    self.root / "imagesTr" / f"{case}_{number:04d}{FILE_ENDING}",
                )
            labels = load_labels(revision_id)
            nib.save(_plane(labels, series.spacing), self.root / "labelsTr" / f"{case}{FILE_ENDING}")
            self.cases_by_subject.setdefault(subject, []).append(case)
            report.slices += 1
            report.files += len(self.channels) + 1
        return report

    def finish(self, name: str, folds: dict[str, int] | None) -> dict[str, Any]:
        """dataset.json always; splits_final.json when a patient-level split is given."""
        total = sum(len(cases) for cases in self.cases_by_subject.values())
        dataset = {
            "name": name,
            "channel_names": {str(i): channel for i, channel in enumerate(self.channels)},
            "labels": {class_name: index for index, class_name in enumerate(self.classes.names)},
            "numTraining": total,
            "file_ending": FILE_ENDING,
            "description": "2D sagittal slices exported by SpineLab (one plane per case)",
        }
        (self.root / "dataset.json").write_text(json.dumps(dataset, indent=2))
        if not folds:
            return {"cases": total, "folds": 0}
        k = max(folds.values()) + 1
        splits = []
        for fold in range(k):
            val = sorted(
                c for s, cases in self.cases_by_subject.items() if folds.get(s) == fold for c in cases
            )
            train = sorted(
                c for s, cases in self.cases_by_subject.items() if folds.get(s) != fold for c in cases
            )
            splits.append({"train": train, "val": val})
        (self.root / "splits_final.json").write_text(json.dumps(splits, indent=2))
        return {"cases": total, "folds": k}
