"""The one home of geometry and intensity rules: orientation, resampling, z-score, plans."""

from __future__ import annotations

import numpy as np
import pytest

from mlcore.preprocess import (
    fit_plan,
    from_sagittal,
    resample_probs_back,
    resize_image,
    resize_labels,
    to_sagittal,
)


def test_a_mask_resampled_onto_its_own_grid_is_unchanged():
    labels = np.random.default_rng(0).integers(0, 12, (37, 53)).astype(np.uint8)
    np.testing.assert_array_equal(resize_labels(labels, (37, 53)), labels)


def test_a_mask_upsampled_by_an_integer_factor_comes_back_exactly():
    labels = np.random.default_rng(1).integers(0, 12, (20, 30)).astype(np.int64)
    up = resize_labels(labels, (60, 90))
    assert up.dtype == labels.dtype and set(np.unique(up)) <= set(np.unique(labels))
    np.testing.assert_array_equal(resize_labels(up, (20, 30)), labels)


def test_probabilities_resampled_back_still_sum_to_one_and_keep_the_shape_of_objects():
    probs = np.zeros((3, 32, 32), np.float32)
    probs[0] = 1
    probs[:, 8:24, 8:24] = [[[0.0]], [[1.0]], [[0.0]]]
    back = resample_probs_back(probs, (64, 64))
    np.testing.assert_allclose(back.sum(axis=0), 1, atol=1e-5)
    square = back.argmax(axis=0) == 1
    assert abs(int(square.sum()) - 32 * 32) <= 2 * 32  # the 16 px square becomes ~32 px, edges aside


def test_resize_image_keeps_a_constant_image_constant():
    image = np.full((2, 10, 14), 3.5, np.float32)
    np.testing.assert_allclose(resize_image(image, (25, 7)), 3.5)


def test_sagittal_reorientation_is_undone_exactly_onto_the_source_grid():
    volume = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    affine = np.array([[0, 0, -1.2, 10], [0.9, 0, 0, -5], [0, 3.0, 0, 2], [0, 0, 0, 1]])  # PSL-ish axes
    stack, stack_affine = to_sagittal(volume, affine)
    assert stack.shape != volume.shape  # the planes really moved
    np.testing.assert_array_equal(from_sagittal(stack, affine, volume.shape), volume)
    # a voxel keeps its world position through the re-orientation
    src = np.array([1, 2, 3, 1.0])
    world = affine @ src
    idx = np.rint(np.linalg.inv(stack_affine) @ world).astype(int)[:3]
    assert stack[tuple(idx)] == volume[1, 2, 3]


def test_the_plan_takes_the_median_spacing_and_a_patch_that_fits_the_network_stride():
    shapes = [(256, 256)] * 3 + [(380, 380)]
    spacings = [(1.1, 1.1)] * 3 + [(0.8, 0.8)]
    plan = fit_plan(shapes, spacings, stride=16)
    assert plan.target_spacing == (1.1, 1.1)
    assert all(p % 16 == 0 and p >= m for p, m in zip(plan.patch_size, plan.median_shape, strict=True))
    coarse = fit_plan(shapes, spacings, stride=16, min_spacing=2.2)
    assert coarse.target_spacing == (2.2, 2.2) and coarse.patch_size == (128, 128)
    assert fit_plan(shapes, spacings, max_patch=128).patch_size == (128, 128)
    assert coarse.slice_shape((256, 256), (1.1, 1.1)) == (128, 128)
    with pytest.raises(ValueError, match="positive"):
        fit_plan([(10, 10)], [(0.0, 1.0)])
