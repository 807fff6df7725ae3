"""Streaming imports give exactly what whole-volume reading gave. NIfTI: slab by slab into the
sagittal layout, labels in their smallest type and mapped in place, statistics plane by plane.
DICOM: headers first, then each file's pixel data once, straight into its plane (issue 17)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from annotator.imports import readers_dicom
from annotator.imports.labelmap import map_mask
from annotator.imports.persist import plan, zscore_stats_by_plane
from annotator.imports.readers_dicom import read_dicom, rescale
from annotator.imports.readers_nifti import load_sagittal
from annotator.imports.types import ImportedMask, ImportedSeries
from mlcore.preprocess import to_sagittal, zscore_stats

AFFINES = {
    "axial": np.diag([0.8, 0.8, 4.0, 1.0]),
    "oblique-permuted": np.array([[0, 0, -4.0, 10], [0.7, 0, 0, 3], [0, -0.9, 0, 2], [0, 0, 0, 1]]),
    "flipped": np.diag([-1.0, 1.0, -2.0, 1.0]),
}


@pytest.mark.parametrize("orientation", sorted(AFFINES))
@pytest.mark.parametrize("dtype,slope", [(np.int16, None), (np.uint8, None), (np.float32, 2.0)])
def test_a_streamed_volume_equals_the_whole_volume_reoriented(tmp_path, orientation, dtype, slope):
    affine = AFFINES[orientation]
    volume = np.random.default_rng(0).integers(0, 200, size=(7, 9, 5)).astype(dtype)
    image = nib.Nifti1Image(volume, affine)
    if slope:
        image.header.set_slope_inter(slope, 1.0)
    path = tmp_path / "scan.nii.gz"
    nib.save(image, str(path))
    whole = np.asanyarray(nib.load(str(path)).dataobj)
    expected, expected_affine = to_sagittal(whole.astype(np.float32) if slope else whole, affine)

    got, got_affine, source_affine, source_shape = load_sagittal(path, "scan.nii.gz")
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    np.testing.assert_allclose(got_affine, expected_affine)
    np.testing.assert_allclose(source_affine, affine)
    assert source_shape == [7, 9, 5] and got.flags.c_contiguous
    labels, *_ = load_sagittal(path, "scan.nii.gz", labels=True)
    assert labels.dtype.kind in "iu" and np.array_equal(labels, np.rint(expected))


def test_plane_by_plane_statistics_equal_the_whole_volume_statistics():
    rng = np.random.default_rng(1)
    volume = rng.normal(300, 80, size=(6, 20, 30)).astype(np.float32)
    volume[:, :5] = 0  # background is left out
    volume[2] = 0  # an empty plane
    np.testing.assert_allclose(zscore_stats_by_plane(volume), zscore_stats(volume), rtol=1e-9)
    assert zscore_stats_by_plane(np.zeros((2, 3, 3), np.int16)) == zscore_stats(np.zeros((2, 3, 3), np.int16))


def test_a_label_volume_is_held_in_the_smallest_type_and_mapped_in_place(tmp_path):
    path = tmp_path / "sub-A_dseg.nii.gz"
    labels = np.zeros((6, 5, 4), np.int16)
    labels[1:3, 2:4] = 7
    nib.save(nib.Nifti1Image(labels, np.eye(4)), str(path))
    volume, *_ = load_sagittal(path, path.name, labels=True)
    assert volume.dtype == np.uint8  # an int16 file whose values fit: half the memory
    mask = ImportedMask(desc="vertebrae", volume=volume, label_table={7: "vertebrae"}, source_name=path.name)
    mapped = map_mask(mask, None, ["background", "vertebrae"])
    assert np.shares_memory(mapped, volume)  # no second label volume
    assert sorted(np.unique(mapped)) == [0, 1] and int(mapped.sum()) == 2 * 2 * 4


def test_planning_frees_the_source_labels_it_mapped():
    volume = np.zeros((3, 4, 5), np.int32)  # not uint8: mapped into a new array
    mask = ImportedMask(desc="vertebrae", volume=volume, label_table={}, source_name="m")
    item = ImportedSeries(
        "S", "1", "T2w", "sag", "nifti", "", np.zeros((3, 4, 5), np.int16), [1.0] * 3, np.eye(4)
    )
    item.masks.append(mask)
    plan([item], None, ["background", "vertebrae"])
    assert mask.volume.size == 0 and mask.volume.base is None  # not a view keeping the source alive


# --- DICOM: headers first, then pixel data file by file ------------------------------------------
def write_series(folder: Path, planes: list[np.ndarray], intercepts: list[int]) -> list[Path]:
    """Single-frame MR files, written in reverse spatial order (import orders them by position)."""
    folder.mkdir(parents=True, exist_ok=True)
    series, paths = generate_uid(), []
    for k, (plane, intercept) in enumerate(zip(planes, intercepts, strict=True)):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = pydicom.Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.SeriesInstanceUID, ds.PatientID, ds.Modality, ds.InstanceNumber = series, "P", "MR", k + 1
        ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
        ds.ImagePositionPatient = [-3.0 * k, 0, 0]  # along the normal (-1, 0, 0)
        ds.PixelSpacing = [0.5, 0.5]
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleSlope, ds.RescaleIntercept = 1, intercept
        ds.PixelData = plane.astype(np.uint16).tobytes()
        paths.append(folder / f"im{len(planes) - k:03d}.dcm")
        ds.save_as(paths[-1], enforce_file_format=True)
    return paths


def test_a_dicom_series_streamed_file_by_file_equals_the_stacked_series(tmp_path):
    rng = np.random.default_rng(2)
    planes = [rng.integers(0, 4000, size=(9, 7)).astype(np.uint16) for _ in range(5)]
    intercepts = [0, 0, -50, 0, 0]  # one plane below 0: np.stack of uint16 and int16 frames is int32
    write_series(tmp_path / "dicom", planes, intercepts)
    series = read_dicom(tmp_path / "dicom").series
    assert len(series) == 1
    expected = np.stack(
        [rescale(p, 1, i) for p, i in zip(planes, intercepts, strict=True)]
    )  # what the whole-series reader stacked
    volume = series[0].volume
    assert volume.dtype == expected.dtype == np.int32 and np.array_equal(volume, expected)
    assert series[0].spacing == [3.0, 0.5, 0.5]


def test_the_dicom_reader_never_holds_two_files_pixel_data(tmp_path, monkeypatch):
    """Structural: when a file's pixel data is read, no earlier file's dataset or decoded pixels are
    still alive (the whole-series reader held every dataset and its pixels, then a stacked copy)."""
    write_series(tmp_path / "dicom", [np.full((8, 6), k, np.uint16) for k in range(6)], [0] * 6)
    alive: list[weakref.ref] = []
    most = []
    real_read, real_decode = readers_dicom.pydicom.dcmread, readers_dicom.decode_frames

    def dcmread(*args, **kwargs):
        ds = real_read(*args, **kwargs)
        if not kwargs.get("stop_before_pixels"):
            gc.collect()
            most.append(sum(ref() is not None for ref in alive))
            alive.append(weakref.ref(ds))
        return ds

    def decode(ds, name):
        pixels = real_decode(ds, name)
        alive.append(weakref.ref(pixels))
        return pixels

    monkeypatch.setattr(readers_dicom.pydicom, "dcmread", dcmread)
    monkeypatch.setattr(readers_dicom, "decode_frames", decode)
    series = read_dicom(tmp_path / "dicom").series
    assert len(most) == 6 and max(most) == 0  # every file read once with pixels, one at a time
    assert [int(plane[0, 0]) for plane in series[0].volume] == list(range(6))
