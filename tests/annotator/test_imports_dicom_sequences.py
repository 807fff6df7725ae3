"""DICOM series are recognised by sequence (STIR, contrast T1, T2w, T1w), so a project whose channels
are e.g. STIR + T1w stacks its DICOM series as it does its NIfTI ones."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from annotator.imports import import_path
from annotator.imports.readers_dicom import guess_modality
from annotator.models import Slice
from annotator.services.projects import create_project
from tests.annotator.exports_support import dicom_stack


def header(**tags: object) -> Dataset:
    ds = Dataset()
    for key, value in tags.items():
        setattr(ds, key, value)
    return ds


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"SeriesDescription": "SAG STIR"}, "STIR"),
        ({"SeriesDescription": "t2_tirm_sag"}, "STIR"),
        ({"SeriesDescription": "SAG T2 STIR FS"}, "STIR"),
        ({"SeriesDescription": "SAG T1 +C"}, "T1c"),
        ({"SeriesDescription": "T1 FS POST GD sag"}, "T1c"),
        ({"SeriesDescription": "sag T1C"}, "T1c"),
        ({"SeriesDescription": "SAG T2 POSTERIOR"}, "T2w"),
        ({"SeriesDescription": "SAG T2 TSE"}, "T2w"),
        ({"SeriesDescription": "SAG T1 TSE"}, "T1w"),
        ({"SeriesDescription": "sag", "InversionTime": 150, "EchoTime": 50}, "STIR"),
        (
            {"SeriesDescription": "sag", "EchoTime": 12, "RepetitionTime": 600, "ContrastBolusAgent": "Gd"},
            "T1c",
        ),
        ({"SeriesDescription": "sag", "EchoTime": 12, "RepetitionTime": 600}, "T1w"),
        ({"SeriesDescription": "sag", "EchoTime": 100}, "T2w"),
        ({"SeriesDescription": "localizer"}, "MR"),
    ],
)
def test_the_sequence_is_read_from_the_description_or_the_timings(tags, expected):
    assert guess_modality(header(**tags)) == expected


def relabel(paths: list[Path], description: str) -> None:
    series_uid = generate_uid()
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.SeriesDescription, ds.SeriesInstanceUID = description, series_uid
        ds.save_as(path)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_stir_and_a_t1_dicom_series_become_one_slice_stack_with_the_project_channels(
    db, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    project = create_project(
        "mets-dicom", "Metastases (DICOM)", ["background", "lytic lesion"], channels=["STIR", "T1w"]
    )
    relabel(dicom_stack(tmp_path / "in" / "stir"), "SAG STIR")
    relabel(dicom_stack(tmp_path / "in" / "t1"), "SAG T1 TSE")

    import_path(tmp_path / "in", project, kind="dicom")

    slices = Slice.objects.filter(series__session__subject__project=project)
    assert slices.count() == 4  # the T1w series is resampled onto the STIR one
    assert all(set(s.channels) == {"STIR", "T1w"} for s in slices)  # (jsonb keeps no key order)
