"""Helpers shared by the export and DICOMweb tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import generate_uid

from annotator.models import MaskRevision, Slice, SliceState
from annotator.services.masks import build_revision
from tests.conftest import shared_data


def dicom_stack(folder: Path, planes: int = 4, gap: float = 5.0) -> list[Path]:
    """A single-frame MR series of `planes` instances made from the real MR_small.dcm: new SOP instance
    UIDs, positions `gap` mm apart along the slice normal, files and instance numbers deliberately out
    of spatial order (import must order them by position)."""
    source = shared_data("dicom-mr", "pydicom_bundled", "MR_small.dcm")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i, plane in enumerate([2, 0, 3, 1][:planes] if planes == 4 else range(planes)):
        ds = pydicom.dcmread(source)
        orientation = np.array([float(v) for v in ds.ImageOrientationPatient])
        normal = np.cross(orientation[:3], orientation[3:])
        origin = np.array([float(v) for v in ds.ImagePositionPatient])
        ds.ImagePositionPatient = [f"{v:.4f}" for v in origin + normal * gap * plane]
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = 10 + i
        path = folder / f"im{i}.dcm"
        ds.save_as(path)
        written.append(path)
    return written


def accept(slice_: Slice, labels: np.ndarray) -> MaskRevision:
    """Store `labels` as the slice's accepted main-track head (what review acceptance leaves)."""
    revision = build_revision(slice_, labels, source=MaskRevision.Source.HUMAN, parent=slice_.head_revision)
    Slice.objects.filter(pk=slice_.pk).update(head_revision=revision, state=SliceState.ACCEPTED)
    return revision
