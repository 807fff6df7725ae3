"""Streaming NIfTI imports (slab by slab into the sagittal layout, statistics plane by plane) give
exactly what whole-volume reading gave: same planes, same affine, same normalisation."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from annotator.imports.persist import zscore_stats_by_plane
from annotator.imports.readers_nifti import load_sagittal
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
