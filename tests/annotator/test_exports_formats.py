"""Exports read back with each format's own library: nibabel (NIfTI/MIDS), nnU-Net's integrity
check, Pillow + csv (PNG pairs), highdicom (DICOM SEG); masks and geometry must come back equal."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from annotator.imports import import_path
from annotator.models import Job, ProjectSplit, Series, Slice
from annotator.services.masks import revision_labels
from annotator.services.projects import create_project
from annotator.services.slicedata import load_channel
from annotator.tasks.exports import run_export
from tests.annotator.exports_support import accept, dicom_stack
from tests.conftest import shared_data

IVD = "sub-IVD11_ses-1_run-1_bp-lsspine_vp-sag"
VERTEBRAE, DISCS = 1, 3


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def copy_subject(dest: Path, subject: str = "IVD11") -> Path:
    source = shared_data("mids-lumbar")
    shutil.copytree(source / f"sub-{subject}", dest / f"sub-{subject}")
    shutil.copytree(
        source / "derivatives" / "manual_seg" / f"sub-{subject}",
        dest / "derivatives" / "manual_seg" / f"sub-{subject}",
    )
    return dest


@pytest.fixture
def ivd_series(media, project, tmp_path) -> Series:
    """The real IVD11 volume (uint16, discs labelled) imported into the lumbar project."""
    tree = copy_subject(tmp_path / "mids")
    report = import_path(tree, project, kind="mids", label_map="mids-lumbar")
    return Series.objects.get(pk=report.series_ids[0])


def export(client, body: dict) -> tuple[Job, zipfile.ZipFile]:
    """POST /api/exports/, run the queued task as the io worker would, download the zip."""
    answer = client.post("/api/exports/", body, format="json")
    assert answer.status_code == 202, answer.json()
    job_id = answer.json()["id"]
    run_export(job_id)
    job = Job.objects.get(pk=job_id)
    assert job.state == "succeeded", job.message
    download = client.get(f"/api/exports/{job_id}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    return job, zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))


def unzip(archive: zipfile.ZipFile, dest: Path) -> Path:
    archive.extractall(dest)
    return next(dest.iterdir())


def test_nifti_export_has_the_source_grid_and_affine_and_the_labels_of_the_accepted_slices(
    ivd_series, project, client_for, tmp_path
):
    job, archive = export(client_for("sam"), {"project": project.pk, "format": "nifti"})
    root = unzip(archive, tmp_path / "out")
    dseg = root / "derivatives/spinelab/sub-IVD11/ses-1/anat" / f"{IVD}_desc-spinelab_dseg.nii.gz"
    source_mask = shared_data(
        "mids-lumbar", "derivatives/manual_seg/sub-IVD11/ses-1", f"{IVD}_desc-discs_dseg.nii.gz"
    )
    source_image = shared_data("mids-lumbar", "sub-IVD11/ses-1/mim-mr/anat", f"{IVD}_T2w.nii.gz")
    exported, reference = nib.load(dseg), nib.load(source_mask)
    assert exported.shape == nib.load(source_image).shape == reference.shape
    assert np.array_equal(exported.affine, nib.load(source_image).affine)
    # Every source disc value (1..5) maps to the project's "intervertebral discs" class.
    expected = np.where(np.asarray(reference.dataobj) > 0, DISCS, 0)
    assert np.array_equal(np.asarray(exported.dataobj), expected)
    sidecar = json.loads(dseg.with_name(dseg.name.replace(".nii.gz", ".json")).read_text())
    assert sidecar["Labels"]["3"] == "intervertebral discs"
    planes = sidecar["LabelledPlanes"]
    labelled = [
        i for i in range(expected.shape[planes["axis"]]) if np.take(expected, i, planes["axis"]).any()
    ]
    assert planes["indices"] == labelled
    assert (root / "sub-IVD11/ses-1/anat" / f"{IVD}_T2w.nii.gz").is_file()
    assert job.result["slices"] == len(labelled)


def test_reimporting_a_nifti_export_gives_the_same_masks(ivd_series, project, client_for, tmp_path):
    _, archive = export(client_for("sam"), {"project": project.pk, "format": "nifti"})
    root = unzip(archive, tmp_path / "out")
    other = create_project("copy", "Copy", project.class_names())
    report = import_path(root, other, kind="mids")
    copied = Series.objects.get(pk=report.series_ids[0])
    assert copied.shape == ivd_series.shape and np.allclose(copied.affine, ivd_series.affine)
    before = {s.index: revision_labels(s.head_revision) for s in ivd_series.slices.filter(state="accepted")}
    after = {s.index: revision_labels(s.head_revision) for s in copied.slices.filter(state="accepted")}
    assert before.keys() == after.keys() and before
    assert all(np.array_equal(before[i], after[i]) for i in before)


def test_png_pairs_give_back_the_masks_and_the_16_bit_image_values(ivd_series, project, client_for, tmp_path):
    _, archive = export(client_for("mia"), {"project": project.pk, "format": "png"})
    root = unzip(archive, tmp_path / "out")
    rows = list(csv.DictReader((root / "slices.csv").read_text().splitlines()))
    accepted = {s.index: s for s in ivd_series.slices.filter(state="accepted")}
    assert sorted(int(r["plane"]) for r in rows) == sorted(accepted)
    for row in rows[:5]:
        slice_ = accepted[int(row["plane"])]
        mask = Image.open(root / row["mask"])
        assert mask.mode == "P"
        assert np.array_equal(np.asarray(mask), revision_labels(slice_.head_revision))
        image = Image.open(root / row["image"])
        assert row["image_bits"] == "16"
        values = np.asarray(image).astype(np.float64) * float(row["scale"]) + float(row["offset"])
        assert np.array_equal(values, load_channel(slice_, "T2w").astype(np.float64))
        assert row["classes"] == "intervertebral discs"


def test_nnunet_export_has_cases_labels_dataset_json_and_patient_level_splits(
    ivd_series, project, client_for, make_slices, tmp_path
):
    other = make_slices(3, height=16, width=20, subject="P02")
    for s in other[:2]:
        labels = np.zeros((16, 20), np.uint8)
        labels[4:9, 5:12] = VERTEBRAE
        accept(s, labels)
    ProjectSplit.objects.create(project=project, k=2, seed=0, assignment={"IVD11": 0, "P02": 1})
    _, archive = export(client_for("mia"), {"project": project.pk, "format": "nnunet"})
    root = unzip(archive, tmp_path / "out")
    dataset = json.loads((root / "dataset.json").read_text())
    assert dataset["channel_names"] == {"0": "T2w"} and dataset["file_ending"] == ".nii.gz"
    assert dataset["labels"]["background"] == 0 and dataset["labels"]["intervertebral discs"] == DISCS
    labels = sorted((root / "labelsTr").iterdir())
    assert dataset["numTraining"] == len(labels) == ivd_series.slices.filter(state="accepted").count() + 2
    splits = json.loads((root / "splits_final.json").read_text())
    assert len(splits) == 2
    assert all(c.startswith("IVD11_") for c in splits[0]["val"]) and all(
        c.startswith("P02_") for c in splits[1]["val"]
    )
    case = f"P02_s{other[0].series_id}_0000"
    label = nib.load(root / "labelsTr" / f"{case}.nii.gz")
    assert np.array_equal(
        np.asarray(label.dataobj)[:, :, 0], revision_labels(Slice.objects.get(pk=other[0].pk).head_revision)
    )
    image = nib.load(root / "imagesTr" / f"{case}_0000.nii.gz")
    assert np.array_equal(np.asarray(image.dataobj)[:, :, 0], load_channel(other[0], "T2w"))
    assert image.header.get_zooms() == (1.0, 1.0, 1.0)


def test_nnunet_export_passes_nnunets_own_dataset_integrity_check(ivd_series, project, client_for, tmp_path):
    integrity = pytest.importorskip(
        "nnunetv2.experiment_planning.verify_dataset_integrity",
        reason="nnunetv2 not installed (uv run --group nnunet)",
    )
    _, archive = export(client_for("mia"), {"project": project.pk, "format": "nnunet"})
    root = unzip(archive, tmp_path / "out")
    integrity.verify_dataset_integrity(str(root), num_processes=1)  # raises on any inconsistency


def test_dicom_seg_references_the_source_instances_and_reads_back_with_highdicom(
    media, project, client_for, tmp_path
):
    import highdicom as hd
    import pydicom

    files = dicom_stack(tmp_path / "dicom")
    series = Series.objects.get(pk=import_path(tmp_path / "dicom", project, kind="dicom").series_ids[0])
    assert series.shape[0] == 4
    slices = list(series.slices.order_by("index"))
    wanted = {}
    for s, (cls, box) in zip(
        slices[1:4], [(VERTEBRAE, (10, 30)), (DISCS, (20, 40)), (VERTEBRAE, (5, 60))], strict=True
    ):
        labels = np.zeros((s.height, s.width), np.uint8)
        labels[box[0] : box[1], 8:50] = cls
        labels[50:60, 50:60] = DISCS if cls == VERTEBRAE else VERTEBRAE
        accept(s, labels)
        wanted[s.index] = labels
    _, archive = export(
        client_for("sam"), {"project": project.pk, "format": "dicom-seg", "series": [series.pk]}
    )
    member = next(n for n in archive.namelist() if n.endswith("_seg.dcm"))
    seg = hd.seg.segread(io.BytesIO(archive.read(member)))
    sources = [pydicom.dcmread(f) for f in files]
    assert seg.FrameOfReferenceUID == sources[0].FrameOfReferenceUID
    assert [str(s.SegmentLabel) for s in seg.SegmentSequence] == ["vertebrae", "intervertebral discs"]
    # Plane i of the series is the source whose position is i-th along the normal.
    orientation = np.array(sources[0].ImageOrientationPatient, float)
    normal = np.cross(orientation[:3], orientation[3:])
    by_position = sorted(
        sources, key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), normal))
    )
    for index, labels in wanted.items():
        got = seg.get_pixels_by_source_instance(
            [by_position[index].SOPInstanceUID], combine_segments=True, relabel=True
        )[0]
        expected = np.select([labels == VERTEBRAE, labels == DISCS], [1, 2], 0)
        assert np.array_equal(got, expected), f"plane {index}"
    referenced = {
        str(r.ReferencedSOPInstanceUID) for r in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence
    }
    assert referenced <= {str(d.SOPInstanceUID) for d in sources}


def test_a_seg_of_a_multiframe_series_without_plane_positions_fails_its_job_with_the_reason(
    media, project, client_for, tmp_path
):
    source = shared_data("dicom-mr", "pydicom_data", "emri_small.dcm")  # Enhanced MR, no plane positions
    (tmp_path / "emri").mkdir()
    shutil.copy(source, tmp_path / "emri" / source.name)
    series = Series.objects.get(pk=import_path(tmp_path / "emri", project, kind="dicom").series_ids[0])
    first = series.slices.order_by("index").first()
    accept(first, np.ones((first.height, first.width), np.uint8))
    answer = client_for("sam").post(
        "/api/exports/", {"project": project.pk, "format": "dicom-seg", "series": [series.pk]}, format="json"
    )
    run_export(answer.json()["id"])
    job = Job.objects.get(pk=answer.json()["id"])
    assert job.state == "failed"
    assert (
        f"series {series.pk}: highdicom cannot build a SEG" in job.message
        and "Frame of Reference" in job.message
    )
