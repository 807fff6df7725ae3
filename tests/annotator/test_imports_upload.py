"""Uploads: zip safety (traversal, links, size, member count) and single-file uploads."""

from __future__ import annotations

import gzip
import io
import stat
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotator.errors import ImportFailed, PayloadTooLarge
from annotator.imports import import_upload
from annotator.models import Series, Slice
from tests.conftest import shared_data


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def zip_upload(members: dict[str, bytes], name: str = "upload.zip") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/zip")


def nifti_bytes(shape: tuple[int, int, int] = (3, 5, 6)) -> bytes:
    image = nib.Nifti1Image(np.arange(np.prod(shape), dtype=np.int16).reshape(shape), np.eye(4))
    return gzip.compress(image.to_bytes())


def limit(settings, **values: int) -> None:
    settings.SPINELAB = {**settings.SPINELAB, **values}


@pytest.mark.parametrize("member", ["../evil.dcm", "scans/../../evil.dcm", "/etc/evil.dcm"])
def test_zip_members_pointing_outside_the_archive_are_refused(project, media, member):
    with pytest.raises(ImportFailed, match="path traversal") as error:
        import_upload(zip_upload({"ok.txt": b"x", member: b"evil"}), project)
    assert error.value.status == 400 and member in error.value.message
    assert not (media.parent / "evil.dcm").exists() and Series.objects.count() == 0


def test_zip_symlinks_are_refused(project, media):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        info = zipfile.ZipInfo("link.dcm")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ImportFailed, match="symbolic link"):
        import_upload(SimpleUploadedFile("a.zip", buffer.getvalue()), project)


def test_an_oversize_upload_is_a_413_error(project, media, settings):
    limit(settings, MAX_UPLOAD_BYTES=100)
    with pytest.raises(PayloadTooLarge, match="limited to 100 bytes") as error:
        import_upload(SimpleUploadedFile("big.nii.gz", b"0" * 101), project)
    assert error.value.status == 413


def test_a_zip_that_unpacks_too_large_or_has_too_many_members_is_a_413_error(project, media, settings):
    limit(settings, MAX_UNZIPPED_BYTES=1000, MAX_ZIP_MEMBERS=3)
    with pytest.raises(PayloadTooLarge, match="unpacks to 5000 bytes"):
        import_upload(zip_upload({"a.dcm": b"\0" * 5000}), project)
    with pytest.raises(PayloadTooLarge, match="has 4 members"):
        import_upload(zip_upload({f"{i}.dcm": b"x" for i in range(4)}), project)


def test_a_file_named_zip_that_is_not_a_zip_is_refused(project, media):
    with pytest.raises(ImportFailed, match="broken.zip: not a readable zip"):
        import_upload(SimpleUploadedFile("broken.zip", b"not a zip"), project)


def test_a_single_nifti_upload_becomes_one_sagittal_series(project, media):
    report = import_upload(SimpleUploadedFile("sub-U1_ses-2_T2w.nii.gz", nifti_bytes()), project)

    series = Series.objects.get(pk=report.series_ids[0])
    assert (series.session.subject.label, series.session.label, series.modality) == ("U1", "2", "T2w")
    assert series.shape == [3, 6, 5] and Slice.objects.filter(series=series).count() == 3


def test_a_zipped_mids_tree_and_a_single_dicom_upload_import(project, media):
    tree = zip_upload({"case/sub-Z/ses-1/anat/sub-Z_ses-1_T2w.nii.gz": nifti_bytes()})
    dicom = shared_data("dicom-mr", "pydicom_bundled", "MR_small.dcm")

    first = import_upload(tree, project)
    second = import_upload(SimpleUploadedFile("MR_small.dcm", dicom.read_bytes()), project)

    assert len(first.series_ids) == 1 and first.slices == 3
    assert second.slices == 1 and Series.objects.get(pk=second.series_ids[0]).source_format == "dicom"


def test_an_unknown_kind_is_refused(project, media):
    with pytest.raises(ImportFailed, match="unknown import kind 'jpeg'"):
        import_upload(SimpleUploadedFile("x.png", b"x"), project, kind="jpeg")
