"""nnU-Net exports take the project's own channels (e.g. STIR + T1w), not only T2w / T2w+T1w."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from annotator.imports import import_path
from annotator.models import ProjectMembership, Slice
from annotator.services.projects import create_project
from annotator.services.slicedata import load_channel
from mlcore.phantom_lesions import LESION_CLASSES, write_lesion_mids
from tests.annotator.test_exports_formats import export, unzip


@pytest.fixture
def mets(users, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    project = create_project(
        "mets", "Metastases", list(LESION_CLASSES), members_only=True, channels=["STIR", "T1w"]
    )
    ProjectMembership.objects.create(project=project, user=users["mia"], role="ml_staff")
    write_lesion_mids(tmp_path / "mids", n_subjects=2, n_slices=2, size=(32, 32), seed=3)
    import_path(tmp_path / "mids", project, kind="mids")
    return project


def test_an_nnunet_export_of_a_stir_t1w_project_has_both_channels_in_the_projects_order(
    mets, client_for, tmp_path
):
    _, archive = export(client_for("mia"), {"project": mets.pk, "format": "nnunet"})
    root = unzip(archive, tmp_path / "out")
    dataset = json.loads((root / "dataset.json").read_text())
    assert dataset["channel_names"] == {"0": "STIR", "1": "T1w"}
    case = sorted((root / "labelsTr").iterdir())[0].name.removesuffix(".nii.gz")
    slice_ = Slice.objects.get(pk=_slice_of(case, mets))
    for number, channel in enumerate(["STIR", "T1w"]):
        image = nib.load(root / "imagesTr" / f"{case}_{number:04d}.nii.gz")
        assert np.array_equal(np.asarray(image.dataobj)[:, :, 0], load_channel(slice_, channel))


def _slice_of(case: str, project) -> int:
    """`<subject>_s<series>_<plane>` -> the slice's id."""
    _, series, plane = case.rsplit("_", 2)
    return Slice.objects.get(series_id=int(series.removeprefix("s")), index=int(plane)).pk


def test_unknown_channels_are_refused_naming_them(mets, client_for):
    answer = client_for("mia").post(
        "/api/exports/", {"project": mets.pk, "format": "nnunet", "channels": "STIR+STIR"}, format="json"
    )
    assert answer.status_code == 400 and "STIR+STIR" in json.dumps(answer.json())


def test_a_chosen_t2w_export_of_a_project_without_t2w_skips_every_slice_saying_so(mets, client_for, tmp_path):
    job, archive = export(client_for("mia"), {"project": mets.pk, "format": "nnunet", "channels": "T2w"})
    assert "no ['T2w'] channel" in json.dumps(job.result)
    assert not list(Path(unzip(archive, tmp_path / "out")).joinpath("imagesTr").glob("*.nii.gz"))
