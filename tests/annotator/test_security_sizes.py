"""Bounded sizes: review pin polygons, training folds, NIfTI volumes declared by their header, and
gold PNGs are refused before anything big is stored, allocated or decoded."""

from __future__ import annotations

import gzip
import io
import struct
import zlib

import nibabel as nib
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.annotator.test_review_support import submitted_slice


def test_a_pin_polygon_of_200000_points_is_refused_and_nothing_is_stored(users, client_for, make_slices):
    from annotator.models import ReviewDecision

    slice_ = submitted_slice(make_slices, users)
    polygon = [[1.0 + (i % 30), 1.0 + (i % 20)] for i in range(200_000)]
    body = {
        "decision": "reject",
        "comment": "fix",
        "pins": [{"x": 1, "y": 1, "text": "t", "polygon": polygon}],
    }
    refused = client_for("sam").post(f"/api/slices/{slice_.pk}/review/", body, format="json")
    assert refused.status_code == 400 and "polygon" in refused.json()["detail"]
    assert ReviewDecision.objects.count() == 0
    body["pins"][0]["polygon"] = polygon[:1000]
    assert client_for("sam").post(f"/api/slices/{slice_.pk}/review/", body, format="json").status_code == 201


def test_fractional_folds_are_refused_and_no_round_starts(client_for):
    from annotator.models import TrainingRound

    refused = client_for("mia").post("/api/rounds/", {"folds": 2.5, "architectures": ["UD"]}, format="json")
    assert refused.status_code == 400 and "folds" in refused.json()["detail"]
    assert TrainingRound.objects.count() == 0


def nifti_claiming(shape: tuple[int, int, int]) -> bytes:
    """A tiny .nii.gz whose header declares `shape` (the data is not there)."""
    image = nib.Nifti1Image(np.zeros((2, 2, 2), np.int16), np.eye(4))
    image.header.set_data_shape(shape)
    raw = image.header.binaryblock + b"\x00" * 4 + b"\x00" * 16
    return gzip.compress(raw)


def test_a_nifti_declaring_a_huge_volume_is_refused_from_its_header(client_for, project, settings, tmp_path):
    from annotator.models import Series

    settings.MEDIA_ROOT = str(tmp_path / "media")
    upload = SimpleUploadedFile("sub-S1_ses-E1_T2w.nii.gz", nifti_claiming((30000, 30000, 1000)))
    refused = client_for("sam").post(
        "/api/imports/", {"file": upload, "project": project.pk}, format="multipart"
    )
    assert refused.status_code == 413, refused.content
    assert "30000x30000x1000" in refused.json()["detail"] and "MemoryError" not in refused.json()["detail"]
    assert Series.objects.count() == 0


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's header)."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_a_gold_png_of_the_wrong_size_is_refused_from_its_header(users, client_for, make_slices, monkeypatch):
    from annotator.models import MaskRevision
    from annotator.services import agreement

    slice_ = make_slices(1)[0]

    def never(png: bytes) -> np.ndarray:
        raise AssertionError("the PNG was decoded before its size was checked")

    monkeypatch.setattr(agreement, "decode_mask", never)
    refused = client_for("sam").post(
        f"/api/slices/{slice_.pk}/gold/", data=png_claiming_size(9000, 9000), content_type="image/png"
    )
    assert refused.status_code == 400 and "9000x9000" in refused.json()["detail"]
    assert MaskRevision.objects.count() == 0


def test_an_annotator_may_not_send_a_gold_png_at_all(users, client_for, make_slices):
    slice_ = make_slices(1)[0]
    answer = client_for("alice").post(
        f"/api/slices/{slice_.pk}/gold/", data=png_claiming_size(40, 32), content_type="image/png"
    )
    assert answer.status_code == 403


def test_a_dicom_declaring_huge_frames_is_refused_from_its_header(project, settings, tmp_path, monkeypatch):
    import pydicom

    from annotator.errors import PayloadTooLarge
    from annotator.imports import import_path
    from annotator.models import Series
    from tests.annotator.test_imports_dicom import enhanced_mr

    settings.MEDIA_ROOT = str(tmp_path / "media")
    path = tmp_path / "dicom" / "big.dcm"
    path.parent.mkdir()
    enhanced_mr(path, [1.0, 2.0])
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 30000, 30000, 1000  # the pixel data stays tiny
    ds.save_as(path)

    def never(*args: object) -> None:
        raise AssertionError("the pixel data was decoded before its size was checked")

    monkeypatch.setattr(pydicom.dataset.Dataset, "pixel_array", property(never))
    with pytest.raises(PayloadTooLarge, match="30000x30000"):
        import_path(path.parent, project, kind="dicom")
    assert Series.objects.count() == 0
