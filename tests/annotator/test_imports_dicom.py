"""DICOM imports: every transfer syntax, rescale, multi-frame, corrupt files fail the whole import."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest

from annotator.errors import ImportFailed, InvalidMask
from annotator.imports import import_path
from annotator.models import MaskRevision, Series, Slice, SourceFile
from annotator.services.slicedata import load_array
from tests.conftest import shared_data

SINGLE = [
    "MR_small.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_expb.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_padded.dcm",
    "examples_overlay.dcm",
]
DATA = [
    "MR2_UNCR.dcm",
    "MR2_UNCI.dcm",
    "MR2_J2KR.dcm",
    "MR2_J2KI.dcm",
    "MR-SIEMENS-DICOM-WithOverlays.dcm",
    "emri_small.dcm",
    "emri_small_big_endian.dcm",
    "emri_small_RLE.dcm",
    "emri_small_jpeg_2k_lossless.dcm",
    "emri_small_jpeg_ls_lossless.dcm",
]
CASES = [("pydicom_bundled", n) for n in SINGLE] + [("pydicom_data", n) for n in DATA]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(("folder", "name"), CASES)
def test_every_transfer_syntax_imports_with_rescaled_full_depth_pixels(
    project, media, tmp_path, folder, name
):
    source = shared_data("dicom-mr", folder, name)
    (tmp_path / "in").mkdir()
    shutil.copy(source, tmp_path / "in" / name)

    report = import_path(tmp_path / "in", project, kind="dicom")

    ds = pydicom.dcmread(source)
    expected = ds.pixel_array.astype(np.float64) * float(ds.get("RescaleSlope", 1) or 1) + float(
        ds.get("RescaleIntercept", 0) or 0
    )
    expected = expected.reshape(-1, ds.Rows, ds.Columns)
    series = Series.objects.get(pk=report.series_ids[0])
    channel = series.modality
    got = np.stack([load_array(s.channels[channel]) for s in series.slices.order_by("index")])
    assert got.shape == expected.shape and series.shape == list(expected.shape)
    assert np.allclose(got, expected, rtol=1e-6, atol=1e-3)
    if ds.get("RescaleSlope") in (None, 1) and ds.pixel_array.dtype.kind in "iu":
        assert got.dtype.kind in "iu"  # integers stay integers: full bit depth, no float conversion
    assert SourceFile.objects.get(series=series).file.read() == source.read_bytes()


def test_enhanced_multiframe_mr_gives_ten_slices(project, media, tmp_path):
    (tmp_path / "in").mkdir()
    shutil.copy(shared_data("dicom-mr", "pydicom_data", "emri_small.dcm"), tmp_path / "in")

    report = import_path(tmp_path / "in", project)

    series = Series.objects.get(pk=report.series_ids[0])
    assert report.slices == 10 and series.slices.count() == 10 and series.shape == [10, 64, 64]
    assert series.modality == "T1w" and series.dtype == "uint16"


def test_a_truncated_file_in_a_zip_fails_the_whole_import_and_leaves_nothing(project, media, tmp_path):
    folder = shared_data("dicom-mr", "pydicom_bundled")
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("MR_small.dcm", "MR_small_RLE.dcm", "MR_truncated.dcm", "examples_overlay.dcm"):
            zf.write(folder / name, f"study/{name}")

    with pytest.raises(ImportFailed, match="MR_truncated.dcm") as error:
        import_path(archive, project)

    assert error.value.status == 400 and "pixel data" in error.value.message
    assert (Series.objects.count(), Slice.objects.count(), SourceFile.objects.count()) == (0, 0, 0)
    assert stored_files(media) == []


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_too_short_jpeg2000_file_is_refused_naming_it(project, media, tmp_path):
    (tmp_path / "in").mkdir()
    shutil.copy(
        shared_data("dicom-mr", "pydicom_data", "emri_small_jpeg_2k_lossless_too_short.dcm"), tmp_path / "in"
    )

    with pytest.raises(ImportFailed, match="emri_small_jpeg_2k_lossless_too_short.dcm"):
        import_path(tmp_path / "in", project, kind="dicom")
    assert Series.objects.count() == 0


def test_dicomdir_and_non_mr_files_are_skipped_with_a_note(project, media):
    report = import_path(shared_data("dicom-mr", "pydicom_bundled", "dicomdirtests"), project, kind="dicom")

    assert any("DICOMDIR" in note and "skipped" in note for note in report.notes)
    assert any("not an MR image" in note for note in report.notes)
    assert report.series_ids and set(Series.objects.values_list("source_format", flat=True)) == {"dicom"}
    assert set(Series.objects.values_list("view", flat=True)) == {
        "sag",
        "cor",
        "ax",
    }  # planes kept as acquired


def test_files_written_before_a_failure_during_saving_are_removed(project, media, tmp_path, monkeypatch):
    """A failure after slice arrays and originals were stored rolls back rows and deletes the files."""
    import annotator.imports.persist as persist

    def refuse(*args, **kwargs):
        raise InvalidMask("refused for the test")

    monkeypatch.setattr(persist, "save_imported_mask", refuse)
    images, masks = tmp_path / "png/images", tmp_path / "png/masks"
    images.mkdir(parents=True)
    masks.mkdir()
    from PIL import Image

    Image.fromarray(np.full((8, 8), 100, np.uint8)).save(images / "0.png")
    np.save(masks / "0.npy", np.ones((8, 8), np.int64))

    with pytest.raises(InvalidMask):
        import_path(tmp_path / "png", project, label_map="identity")
    assert (Series.objects.count(), Slice.objects.count(), MaskRevision.objects.count()) == (0, 0, 0)
    assert stored_files(media) == []


def enhanced_mr(path: Path, x_positions: list[float]) -> None:
    """A sagittal Enhanced MR multi-frame file whose frames are stored out of anatomical order; every
    pixel of frame i holds 100 * x_positions[i] so the imported order can be read back from the pixels."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    def item(**tags: object) -> pydicom.Dataset:
        ds = pydicom.Dataset()
        for key, value in tags.items():
            setattr(ds, key, value)
        return ds

    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4.1"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Modality, ds.PatientID, ds.SeriesDescription = "MR", "MF01", "T2 sag"
    ds.SeriesInstanceUID, ds.StudyInstanceUID = generate_uid(), generate_uid()
    ds.Rows, ds.Columns, ds.NumberOfFrames = 6, 5, len(x_positions)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.SharedFunctionalGroupsSequence = Sequence(
        [
            item(
                PlaneOrientationSequence=Sequence([item(ImageOrientationPatient=[0, 1, 0, 0, 0, -1])]),
                PixelMeasuresSequence=Sequence([item(PixelSpacing=[0.5, 0.6], SliceThickness=4)]),
            )
        ]
    )
    ds.PerFrameFunctionalGroupsSequence = Sequence(
        [
            item(PlanePositionSequence=Sequence([item(ImagePositionPatient=[x, -100.0, 50.0])]))
            for x in x_positions
        ]
    )
    pixels = np.stack([np.full((6, 5), int(100 * x), np.uint16) for x in x_positions])
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)


def test_multiframe_frames_are_ordered_by_their_per_frame_positions_not_their_storage_order(
    project, media, tmp_path
):
    (tmp_path / "in").mkdir()
    enhanced_mr(tmp_path / "in" / "mf.dcm", [8.0, 0.0, 12.0, 4.0])

    report = import_path(tmp_path / "in", project, kind="dicom")

    series = Series.objects.get(pk=report.series_ids[0])
    order = [int(load_array(s.channels[series.modality])[0, 0]) for s in series.slices.order_by("index")]
    assert order in ([0, 400, 800, 1200], [1200, 800, 400, 0]), order  # anatomical, not file order
    assert series.spacing == [4.0, 0.5, 0.6] and series.view == "sag" and series.modality == "T2w"
