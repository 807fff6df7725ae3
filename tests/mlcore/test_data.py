from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mlcore.augment import NO_AUGMENT, AugmentConfig, ForegroundIndex, intensity_augment, sample_patch
from mlcore.data import IGNORE_INDEX, label_map_from_table, load_folder, zscore, zscore_stats
from mlcore.phantom import write_mids
from tests.conftest import shared_data


def test_zscore_uses_only_non_zero_voxels_and_never_divides_by_zero():
    volume = np.array([0, 0, 2, 4, 6], np.float32)
    mean, std = zscore_stats(volume)
    assert mean == pytest.approx(4.0) and std == pytest.approx(np.std([2, 4, 6]))
    np.testing.assert_allclose(zscore(np.array([4.0]), mean, std), [0.0])
    assert zscore_stats(np.full((3, 3), 5.0)) == (5.0, 1.0)
    assert zscore_stats(np.zeros((2, 2)))[1] == 1.0


def test_patches_move_image_and_mask_together_without_new_classes():
    mask = np.zeros((64, 64), np.int64)
    mask[10:30, 15:40], mask[35:60, 5:20], mask[40:50, 30:60] = 3, 7, 11
    image = mask[None].astype(np.float32)  # intensity equals the class id
    rng = np.random.default_rng(0)
    spatial_only = dataclasses.replace(
        NO_AUGMENT, p_spatial=1.0, rotate_deg=20.0, scale=(0.7, 1.4), p_mirror=0.5
    )
    for _ in range(10):
        patch, labels = sample_patch(image, mask, (32, 40), rng, spatial_only, ForegroundIndex(mask))
        assert patch.shape == (1, 32, 40) and labels.shape == (32, 40)
        assert set(np.unique(labels)) <= {IGNORE_INDEX, 0, 3, 7, 11}
        inside = labels != IGNORE_INDEX
        # away from label borders (where linear interpolation blends) the image still equals the mask
        interior = inside & np.isclose(patch[0], np.round(patch[0]), atol=1e-4)
        assert (patch[0][interior].round() == labels[interior]).mean() > 0.98


def test_foreground_aware_sampling_centres_patches_on_rare_classes():
    mask = np.zeros((200, 200), np.int64)
    mask[100:103, 100:103] = 9  # a tiny "nerve root"
    image = np.zeros((1, 200, 200), np.float32)
    rng = np.random.default_rng(1)
    index = ForegroundIndex(mask)
    hits = [
        9 in sample_patch(image, mask, (16, 16), rng, NO_AUGMENT, index, fg_fraction=1.0)[1]
        for _ in range(20)
    ]
    misses = [
        9 in sample_patch(image, mask, (16, 16), rng, NO_AUGMENT, index, fg_fraction=0.0)[1]
        for _ in range(20)
    ]
    assert all(hits) and sum(misses) < 5


def test_intensity_augmentation_changes_the_patch_but_not_its_shape():
    image = np.random.default_rng(1).normal(size=(2, 32, 32)).astype(np.float32)
    always = AugmentConfig(p_noise=1, p_blur=1, p_brightness=1, p_contrast=1, p_gamma=1)
    out = intensity_augment(image.copy(), np.random.default_rng(2), always)
    assert out.shape == image.shape and not np.allclose(out, image) and np.isfinite(out).all()


def test_tied_channels_get_the_same_intensity_transform_untied_ones_their_own():
    # Three copies of one slice: 2.5D input's neighbours share a contrast, so tied channels must
    # stay identical through every intensity transform; untied ones (other sequences) must not.
    base = np.random.default_rng(4).normal(size=(1, 32, 32)).astype(np.float32)
    image = np.repeat(base, 3, axis=0)
    always = AugmentConfig(p_noise=1, p_blur=1, p_brightness=1, p_contrast=1, p_gamma=1, p_curve=1)
    tied = intensity_augment(
        image.copy(), np.random.default_rng(5), dataclasses.replace(always, tie_channels=True)
    )
    assert not np.allclose(tied[0], base[0])
    assert np.array_equal(tied[0], tied[1]) and np.array_equal(tied[0], tied[2])
    untied = intensity_augment(image.copy(), np.random.default_rng(5), always)
    assert not np.allclose(untied[0], untied[1])


def test_simulated_low_resolution_blurs_edges_and_inverted_gamma_keeps_the_range():
    image = np.zeros((1, 40, 36), np.float32)
    image[0, :, 18:] = 1.0  # a sharp vertical edge
    only = dict(p_noise=0, p_blur=0, p_brightness=0, p_contrast=0, p_gamma=0)
    coarse = intensity_augment(
        image.copy(), np.random.default_rng(0), AugmentConfig(p_lowres=1, lowres_zoom=(0.25, 0.25), **only)
    )
    assert coarse.shape == image.shape
    assert np.abs(np.diff(coarse[0], axis=1)).max() < 1.0  # the one-pixel step is spread out
    ramp = np.linspace(-2, 3, 40 * 36, dtype=np.float32).reshape(1, 40, 36)
    inverted = intensity_augment(
        ramp.copy(), np.random.default_rng(1), AugmentConfig(p_invert_gamma=1, **only)
    )
    assert inverted.min() == pytest.approx(-2, abs=1e-5) and inverted.max() == pytest.approx(3, abs=1e-5)
    assert np.all(np.diff(inverted.ravel()) >= -1e-6)  # still monotone: contrast kept, curve changed
    assert not np.allclose(inverted, ramp)


def test_intensity_curve_keeps_the_range_and_can_invert_contrast():
    ramp = np.linspace(-2, 3, 40 * 36, dtype=np.float32).reshape(1, 40, 36)
    only = dict(p_noise=0, p_blur=0, p_brightness=0, p_contrast=0, p_gamma=0, p_invert_gamma=0, p_lowres=0)
    upright = intensity_augment(
        ramp.copy(), np.random.default_rng(3), AugmentConfig(p_curve=1, curve_invert=0, **only)
    )
    flipped = intensity_augment(
        ramp.copy(), np.random.default_rng(3), AugmentConfig(p_curve=1, curve_invert=1, **only)
    )
    for out in (upright, flipped):
        assert out.shape == ramp.shape and out.dtype == np.float32
        assert out.min() >= -2 - 1e-5 and out.max() <= 3 + 1e-5
    # The curve runs from the darkest to the brightest value; inverted, dark becomes bright.
    ends = (0, 0, 0), (0, -1, -1)
    assert [upright[e] for e in ends] == [pytest.approx(-2, abs=1e-4), pytest.approx(3, abs=1e-4)]
    assert [flipped[e] for e in ends] == [pytest.approx(3, abs=1e-4), pytest.approx(-2, abs=1e-4)]
    assert not np.allclose(upright, ramp)


def test_label_tables_map_instances_and_levels_onto_classes():
    classes = ["background", "vertebrae", "intervertebral discs"]
    instances = {i: f"vertebra instance {i}" for i in range(1, 10)}
    assert label_map_from_table(instances, classes) == {i: 1 for i in range(1, 10)}
    assert label_map_from_table({1: "L1", 2: "T12"}, classes) == {1: 1, 2: 1}
    assert label_map_from_table({1: "L5-S1", 2: "L4-L5"}, classes) == {1: 2, 2: 2}
    with pytest.raises(ValueError, match="'aorta'"):
        label_map_from_table({1: "aorta"}, classes)


def test_real_multisite_masks_load_through_their_label_tables_without_a_hand_made_map():
    root = shared_data("mids-multisite")
    classes = ["background", "vertebrae", "intervertebral discs"]
    samples = load_folder(root, class_names=classes, labelled_only=True)
    assert {s.subject for s in samples} == {"sub-VB102", "sub-VB103", "sub-VB205", "sub-VB206"}
    assert all(set(np.unique(s.mask)) <= {0, 1} for s in samples)
    # discs are not labelled in these masks: they are marked unknown for the loss, not background
    assert all(s.labelled == (1,) for s in samples)
    assert {s.spacing for s in samples} == {(1.0, 1.0)}


def test_phantom_mids_tree_loads_with_two_channels_and_twelve_class_masks(tmp_path):
    write_mids(tmp_path, n_subjects=2, n_slices=3, size=(48, 48), seed=1)
    samples = load_folder(tmp_path, channels=("T2w", "T1w"))
    assert len(samples) == 6
    assert {s.subject for s in samples} == {"sub-P0001", "sub-P0002"}
    s = samples[1]
    assert s.image.shape == (2, 48, 48) and s.image.dtype == np.float32
    assert s.mask is not None and s.mask.dtype == np.int64 and s.mask.max() <= 11
    assert abs(float(s.image[0].mean())) < 2


def test_a_t1_on_another_grid_is_resampled_onto_the_t2_grid(tmp_path):
    import nibabel as nib

    write_mids(tmp_path, n_subjects=1, n_slices=3, size=(32, 32), seed=2)
    before = load_folder(tmp_path, channels=("T2w", "T1w"))[1].image[1]
    t1 = next(tmp_path.rglob("*_T1w.nii.gz"))
    img = nib.load(str(t1))
    coarse = np.asarray(img.dataobj)[:, ::2, ::2]
    affine = img.affine.copy()
    affine[:3, 1:3] *= 2
    nib.save(nib.Nifti1Image(coarse, affine), str(t1))
    samples = load_folder(tmp_path, channels=("T2w", "T1w"))
    assert samples[0].image.shape == (2, 32, 32)
    assert np.corrcoef(before.ravel(), samples[1].image[1].ravel())[0, 1] > 0.7  # same anatomy, same place


def test_a_missing_channel_is_named(tmp_path):
    write_mids(tmp_path, n_subjects=1, n_slices=1, size=(16, 16), seed=0)
    with pytest.raises(ValueError, match=r"\['FLAIR'\]"):
        load_folder(tmp_path, channels=("T2w", "FLAIR"))


def test_unmapped_mask_values_are_named(tmp_path):
    write_mids(tmp_path, n_subjects=1, n_slices=1, size=(64, 64), seed=0)
    with pytest.raises(ValueError, match="not in label_map"):
        load_folder(tmp_path, label_map={1: 1})


def test_real_mids_vertebrae_load_in_sagittal_orientation_with_the_vertebra_class():
    root = shared_data("mids-lumbar")
    samples = load_folder(
        root, mask_desc="vertebrae", label_map={i: 1 for i in range(1, 6)}, labelled_only=True
    )
    assert samples and {s.subject for s in samples} == {f"sub-VB30{i}" for i in range(1, 6)}
    assert all(s.image.shape == (1, 224, 224) and set(np.unique(s.mask)) <= {0, 1} for s in samples)
    assert all(1 in s.mask for s in samples)
    # sagittal slices run left-right: the middle slice of a subject holds the most vertebra pixels
    sub = [s for s in samples if s.subject == "sub-VB301"]
    counts = [int((s.mask == 1).sum()) for s in sub]
    assert 0 < counts.index(max(counts)) < len(counts) - 1
    # rows run superior -> inferior: vertebrae occupy a tall, narrow region (spine is vertical)
    rows, cols = np.nonzero(sub[counts.index(max(counts))].mask)
    assert np.ptp(rows) > 1.5 * np.ptp(cols)


def test_real_png_folder_loads_with_remapped_labels():
    root = shared_data("sagittal-png")
    samples = load_folder(root, label_map={1: 3, 2: 1})
    assert len(samples) == 20 and samples[0].id == "png/0" and samples[2].id == "png/2"
    assert samples[3].image.shape == (1, 256, 256)
    assert set(np.unique(samples[3].mask)) <= {0, 1, 3}
    assert len({s.subject for s in samples}) == 20
