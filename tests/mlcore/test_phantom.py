from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from mlcore.io import find_mids_series, read_sagittal
from mlcore.phantom import CANAL, LUMBAR_CLASSES, ROOT, VERT, generate_slice, generate_subject, write_mids


def test_a_subjects_mid_slices_show_all_twelve_classes():
    for seed in (0, 1, 2):
        subject = generate_subject(seed, n_slices=5, size=(128, 128))
        present = set(np.unique(subject.masks[1:4]).tolist())
        assert present == set(range(12)), f"seed {seed} lacks {set(range(12)) - present}"


def test_the_same_seed_gives_the_same_subject_and_another_seed_a_different_one():
    a = generate_subject(7, n_slices=3, size=(64, 64))
    b = generate_subject(7, n_slices=3, size=(64, 64))
    c = generate_subject(8, n_slices=3, size=(64, 64))
    np.testing.assert_array_equal(a.t2, b.t2)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert not np.array_equal(a.masks, c.masks)
    assert not np.allclose(a.t1, c.t1)


def test_canal_is_brighter_than_vertebrae_on_t2_and_darker_on_t1():
    subject = generate_subject(3, n_slices=3, size=(128, 128))
    mid = subject.masks[1]
    for image, brighter in ((subject.t2[1], True), (subject.t1[1], False)):
        canal, bone = image[mid == CANAL].mean(), image[mid == VERT].mean()
        assert (canal > bone) == brighter


def test_the_canal_shrinks_off_the_midline():
    subject = generate_subject(4, n_slices=9, size=(128, 128))
    canal = (subject.masks == CANAL).sum(axis=(1, 2))
    sac = ((subject.masks == CANAL) | (subject.masks == ROOT)).sum(axis=(1, 2))  # roots lie inside the sac
    assert sac[4] > sac[2] > 0
    assert canal[0] == 0 and canal[8] == 0


def test_generate_slice_returns_float_image_and_uint8_mask():
    # No timing assertion: wall-clock limits fail on loaded machines without a bug (bench/ measures speed).
    rng = np.random.default_rng(0)
    image, mask = generate_slice(rng, size=(256, 256), contrast="T1w")
    assert image.shape == mask.shape == (256, 256)
    assert image.dtype == np.float32 and mask.dtype == np.uint8
    assert mask.max() <= 11


def test_unknown_contrast_is_rejected_by_name():
    with pytest.raises(ValueError, match="FLAIR"):
        generate_slice(np.random.default_rng(0), size=(32, 32), contrast="FLAIR")


def test_write_mids_produces_a_readable_tree_with_sidecars_and_masks(tmp_path):
    written = write_mids(tmp_path, n_subjects=2, n_slices=3, size=(48, 64), seed=5)
    assert all(p.exists() for p in written)
    series = find_mids_series(tmp_path)
    assert [s.subject for s in series] == ["sub-P0001", "sub-P0002"]
    for s in series:
        assert set(s.images) == {"T2w", "T1w"} and set(s.masks) == {"lumbar12"}
        img = nib.load(str(s.images["T2w"]))
        assert img.shape == (3, 48, 64)
        assert nib.aff2axcodes(img.affine) == ("R", "I", "P")
        assert img.get_data_dtype() == np.int16
        sidecar = json.loads(
            s.images["T2w"].with_name(s.images["T2w"].name.replace(".nii.gz", ".json")).read_text()
        )
        assert sidecar["Phantom"] is True and sidecar["MagneticFieldStrength"] in (1.5, 3.0)
        mask, _ = read_sagittal(s.masks["lumbar12"])
        assert mask.shape == (3, 48, 64) and mask.max() <= 11
        table = json.loads(
            s.masks["lumbar12"].with_name(s.masks["lumbar12"].name.replace(".nii.gz", ".json")).read_text()
        )
        assert table == {str(i): name for i, name in enumerate(LUMBAR_CLASSES)}
    expected = "sub-P0001/ses-E01/mim-mr/anat/sub-P0001_ses-E01_run-1_bp-lsspine_vp-sag_T2w.nii.gz"
    assert (tmp_path / expected).exists()
    assert (
        tmp_path
        / "derivatives/phantom/sub-P0001/ses-E01/mim-mr/anat"
        / "sub-P0001_ses-E01_run-1_bp-lsspine_vp-sag_desc-lumbar12_dseg.nii.gz"
    ).exists()
