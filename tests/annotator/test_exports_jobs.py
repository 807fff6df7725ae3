"""Export Jobs as a user meets them: what is selected, who may export and download, bad requests,
expiry, cancellation, a round's frozen dataset, and the export_dataset command."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image

from annotator.exports.service import purge_expired
from annotator.models import Job, MaskRevision, ProjectSplit, Series, Slice, TrainingRound
from annotator.services.masks import build_revision
from annotator.tasks.exports import run_export
from tests.annotator.exports_support import accept

VERTEBRAE = 1


def box(height: int, width: int, value: int = VERTEBRAE, top: int = 2) -> np.ndarray:
    labels = np.zeros((height, width), np.uint8)
    labels[top : top + 5, 3:9] = value
    return labels


@pytest.fixture
def labelled(make_slices):
    """Two subjects: S01 with 3 slices (2 accepted, 1 submitted), S02 with 2 slices (1 accepted)."""
    first = make_slices(3, height=16, width=20, subject="S01")
    second = make_slices(2, height=16, width=20, subject="S02")
    accept(first[0], box(16, 20, top=1))
    accept(first[1], box(16, 20, top=6))
    rev = build_revision(first[2], box(16, 20, top=9), source=MaskRevision.Source.HUMAN)
    Slice.objects.filter(pk=first[2].pk).update(head_revision=rev, state="submitted")
    accept(second[0], box(16, 20, top=3))
    return {"S01": first, "S02": second}


def queue(client, **body):
    return client.post("/api/exports/", body, format="json")


def png_masks(client, job_id: int) -> dict[str, np.ndarray]:
    answer = client.get(f"/api/exports/{job_id}/download/")
    assert answer.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(answer.streaming_content)))
    return {
        Path(n).stem: np.asarray(Image.open(io.BytesIO(archive.read(n))))
        for n in archive.namelist()
        if "/masks/" in n
    }


def test_by_default_only_accepted_slices_are_exported(labelled, project, client_for):
    job = queue(client_for("sam"), project=project.pk, format="png").json()
    run_export(job["id"])
    masks = png_masks(client_for("sam"), job["id"])
    assert len(masks) == 3
    submitted = queue(client_for("sam"), project=project.pk, format="png", state="submitted").json()
    run_export(submitted["id"])
    assert len(png_masks(client_for("sam"), submitted["id"])) == 4


def test_a_subject_selection_exports_only_that_subjects_slices(labelled, project, client_for):
    subject = labelled["S02"][0].series.session.subject
    job = queue(client_for("mia"), project=project.pk, format="png", subjects=[subject.pk]).json()
    run_export(job["id"])
    assert [k.split("_")[0] for k in png_masks(client_for("mia"), job["id"])] == ["S02"]


def test_an_export_of_nothing_is_a_400_that_says_so(labelled, project, client_for):
    answer = queue(client_for("sam"), project=project.pk, format="nifti", track="gold")
    assert answer.status_code == 400
    assert "nothing to export" in answer.json()["detail"]
    assert not Job.objects.filter(kind="export").exists()


def test_bad_requests_name_the_problem(labelled, project, client_for):
    sam = client_for("sam")
    assert queue(sam, project=project.pk, format="zip").status_code == 400
    missing = queue(sam, project=project.pk, format="png", series=[999999])
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]
    assert queue(sam, project=project.pk, format="png", round=7).status_code == 404


def test_a_dicom_seg_of_a_series_not_from_dicom_is_refused_with_the_reason(labelled, project, client_for):
    answer = queue(client_for("sam"), project=project.pk, format="dicom-seg")
    assert answer.status_code == 400
    assert "not DICOM" in answer.json()["detail"] and "NIfTI, nnU-Net or PNG" in answer.json()["detail"]


def test_annotators_may_neither_export_nor_download(labelled, project, client_for):
    assert queue(client_for("alice"), project=project.pk, format="png").status_code == 403
    job = queue(client_for("sam"), project=project.pk, format="png").json()
    run_export(job["id"])
    assert client_for("alice").get(f"/api/exports/{job['id']}/download/").status_code == 403
    assert client_for("ada").get(f"/api/exports/{job['id']}/download/").status_code == 200


def test_a_download_before_the_export_finished_is_a_409(labelled, project, client_for):
    job = queue(client_for("sam"), project=project.pk, format="png").json()
    answer = client_for("sam").get(f"/api/exports/{job['id']}/download/")
    assert answer.status_code == 409 and "queued" in answer.json()["detail"]


def test_an_expired_export_is_gone_and_its_file_is_purged(labelled, project, client_for, settings):
    settings.SPINELAB = {**settings.SPINELAB, "EXPORT_KEEP_HOURS": 1}
    job = queue(client_for("sam"), project=project.pk, format="png").json()
    run_export(job["id"])
    stored = Job.objects.get(pk=job["id"]).result["file"]
    assert default_storage.exists(stored)
    assert purge_expired(timezone.now() + timedelta(minutes=30)) == 0
    assert purge_expired(timezone.now() + timedelta(hours=2)) == 1
    assert not default_storage.exists(stored)
    answer = client_for("sam").get(f"/api/exports/{job['id']}/download/")
    assert answer.status_code == 410 and "run the export again" in answer.json()["detail"]


def test_a_cancelled_export_stops_and_leaves_no_file(labelled, project, client_for):
    job = queue(client_for("sam"), project=project.pk, format="png").json()
    assert client_for("sam").post(f"/api/jobs/{job['id']}/cancel/").status_code == 200
    run_export(job["id"])
    finished = Job.objects.get(pk=job["id"])
    assert finished.state == "cancelled" and "file" not in finished.result
    assert not default_storage.exists(f"exports/{job['id']}")


def test_a_rounds_frozen_training_set_is_exported_even_after_later_edits(labelled, project, client_for):
    frozen = [Slice.objects.get(pk=s.pk).head_revision_id for s in [labelled["S01"][0], labelled["S02"][0]]]
    split = ProjectSplit.objects.create(project=project, k=2, seed=0, assignment={"S01": 0, "S02": 1})
    TrainingRound.objects.create(
        project=project,
        number=1,
        job=Job.objects.create(kind="round"),
        split=split,
        folds=[["S01"], ["S02"]],
        revision_ids=frozen,
    )
    accept(labelled["S01"][0], box(16, 20, top=10))  # edited after the round: not in its dataset
    job = queue(client_for("mia"), project=project.pk, format="png", round=1).json()
    run_export(job["id"])
    masks = png_masks(client_for("mia"), job["id"])
    assert len(masks) == 2
    first = next(v for k, v in masks.items() if k.startswith("S01"))
    assert np.array_equal(first, box(16, 20, top=1))


def test_the_export_dataset_command_writes_the_zip(labelled, project, tmp_path):
    out = tmp_path / "export.zip"
    call_command("export_dataset", "png", "--project", project.slug, "--subjects", "S01", "--out", str(out))
    names = zipfile.ZipFile(out).namelist()
    assert sum("/masks/" in n for n in names) == 2 and any(n.endswith("slices.csv") for n in names)
    assert Job.objects.filter(kind="export", state="succeeded").count() == 1
    with pytest.raises(CommandError, match="nothing to export"):
        call_command("export_dataset", "nifti", "--project", project.slug, "--track", "double")
    assert Series.objects.count() == 2


def test_the_gold_track_exports_the_newest_gold_mask_of_each_slice(labelled, project, client_for):
    slice_ = labelled["S02"][1]  # unlabelled on the main track
    build_revision(
        slice_, box(16, 20, top=0), source=MaskRevision.Source.HUMAN, track=MaskRevision.Track.GOLD
    )
    build_revision(
        slice_, box(16, 20, top=8), source=MaskRevision.Source.HUMAN, track=MaskRevision.Track.GOLD
    )
    job = queue(client_for("sam"), project=project.pk, format="png", track="gold").json()
    run_export(job["id"])
    masks = png_masks(client_for("sam"), job["id"])
    assert list(masks) == [f"S02_s{slice_.series_id}_0001"]
    assert np.array_equal(next(iter(masks.values())), box(16, 20, top=8))


def test_a_nifti_export_of_series_without_an_affine_uses_their_spacing(
    labelled, project, client_for, tmp_path
):
    import nibabel as nib

    job = queue(client_for("sam"), project=project.pk, format="nifti").json()
    run_export(job["id"])
    answer = client_for("sam").get(f"/api/exports/{job['id']}/download/")
    zipfile.ZipFile(io.BytesIO(b"".join(answer.streaming_content))).extractall(tmp_path)
    series = labelled["S01"][0].series
    dseg = next(tmp_path.rglob(f"sub-S01_ses-E01_acq-s{series.pk}_desc-spinelab_dseg.nii.gz"))
    image = nib.load(dseg)
    assert image.shape == (3, 16, 20) and np.array_equal(image.affine, np.eye(4))
    volume = np.asarray(image.dataobj)
    assert np.array_equal(volume[0], box(16, 20, top=1)) and np.array_equal(volume[1], box(16, 20, top=6))
    assert not volume[2].any()  # submitted, not accepted: left out (0 = unlabelled, says the sidecar)
    assert next(tmp_path.rglob(f"sub-S01_ses-E01_acq-s{series.pk}_T2w.nii.gz")).is_file()
