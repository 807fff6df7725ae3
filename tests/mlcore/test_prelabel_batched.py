"""The batched post-processing of pre-labelling (torch resampling, one numpy pass over the classes)
gives what the per-slice numpy/scipy path gave: probabilities resampled back equal to 1e-5, labels
equal but on near-ties, the same scores and features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlcore.active import disagreement, mean_entropy, mean_margin
from mlcore.models import build_model
from mlcore.phantom import generate_subject
from mlcore.predict import plan_groups, sliding_window_probs_per_model, to_plan
from mlcore.prelabel import (
    _pooled,
    first_argmax,
    labels_back,
    plan_disagreement,
    pooled_from_plan,
    prelabel_slices,
    probs_back,
)
from mlcore.preprocess import Plan, resample_probs_back, resize_labels, zscore, zscore_stats

# Scores are means over pixels of float32 values: summation order alone moves them by ~1e-7.
SCORE_TOLERANCE = 1e-5


def numpy_prelabel(models, plans, images, spacings):
    """The numpy/scipy post-processing pre-labelling used before (one resampling per class with
    scipy, numpy argmax, partition and reductions), on the same forward passes."""
    shapes = [np.shape(img)[1:] for img in images]
    totals, votes = [None] * len(images), [[] for _ in images]
    for plan, indices in plan_groups(models, plans, images, spacings):
        per_model = sliding_window_probs_per_model(
            [models[i] for i in indices], to_plan(plan, images, spacings), tuple(plan.patch_size)
        )
        for n, shape in enumerate(shapes):
            group = [probs[n] for probs in per_model]
            native = resample_probs_back(np.mean(group, axis=0), shape) * len(group)
            totals[n] = native if totals[n] is None else totals[n] + native
            votes[n] += [resize_labels(g.argmax(axis=0).astype(np.uint8), shape) for g in group]
    out = []
    for n in range(len(images)):
        mean = (totals[n] / len(models))[None]
        scores = {
            "entropy": float(mean_entropy(mean)[0]),
            "margin": float(mean_margin(mean)[0]),
            "disagreement": float(disagreement(np.stack(votes[n])[:, None])[0]),
        }
        out.append((mean[0], mean[0].argmax(axis=0).astype(np.uint8), scores, _pooled(mean[0])))
    return out


@pytest.mark.parametrize(
    "source,target", [((128, 128), (256, 256)), ((37, 50), (83, 41)), ((20, 18), (20, 18))]
)
def test_probabilities_and_labels_resampled_in_torch_equal_the_scipy_resampling(source, target):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(5), size=(3, *source)).transpose(0, 3, 1, 2).astype(np.float32)
    got = probs_back(torch.from_numpy(probs), target).numpy()
    for n in range(3):
        np.testing.assert_allclose(got[n], resample_probs_back(probs[n], target), atol=1e-5)
    pooled = pooled_from_plan(torch.from_numpy(probs), target).numpy()  # without resampling
    for n in range(3):
        np.testing.assert_allclose(pooled[n], _pooled(resample_probs_back(probs[n], target)), atol=1e-6)
    labels = probs.argmax(axis=1).astype(np.uint8)  # (N, h, w)
    back = labels_back(torch.from_numpy(labels[None]), target)[0].numpy()
    for n in range(3):
        agree = (back[n] == resize_labels(labels[n], target)).mean()
        assert agree > 0.99  # nearest neighbour: only pixel centres on an exact half differ
    # Disagreement of two models' labels on the plan's grid = on the slice's grid after resampling.
    votes = torch.from_numpy(rng.integers(0, 3, size=(3, *source)).astype(np.uint8))
    native = labels_back(votes[None], target)[0]
    pairs = [(0, 1), (0, 2), (1, 2)]
    expected = np.mean([(native[i] != native[j]).float().mean().item() for i, j in pairs])
    assert plan_disagreement(votes, target) == pytest.approx(expected, abs=1e-6)  # float32 mean


def test_first_argmax_picks_numpys_class_on_ties():
    rng = np.random.default_rng(1)
    probs = rng.integers(0, 4, size=(2, 12, 9, 7)).astype(np.float32)  # many exact ties
    top, labels = first_argmax(torch.from_numpy(probs))
    np.testing.assert_array_equal(labels.numpy(), probs.argmax(axis=1))
    np.testing.assert_array_equal(top.numpy(), probs.max(axis=1))
    assert labels.dtype == torch.uint8


COARSE = Plan(target_spacing=(2.2, 2.2), patch_size=(64, 64))  # one window per slice
FINE = Plan(target_spacing=(1.4, 1.4), patch_size=(48, 48))  # several overlapping windows


@pytest.mark.parametrize(
    "plans", [[COARSE, COARSE], [COARSE, FINE, COARSE]], ids=["one plan", "two plans, 2 + 1 models"]
)
def test_prelabels_and_scores_match_the_numpy_path_on_a_phantom(plans):
    torch.manual_seed(0)
    models = [build_model("UD", 1, 12, filters=4).eval() for _ in plans]
    subject = generate_subject(7, n_slices=3, size=(96, 96))
    stats = zscore_stats(subject.t2)
    images = [zscore(s, *stats)[None] for s in subject.t2]
    images.append(images[0][:, :80, :90].copy())  # a slice of another shape in the same call
    # slices 0-2 share a grid, but slice 2 has another spacing (another grid at the plan's spacing)
    spacings = [(1.1, 1.1), (1.1, 1.1), (0.9, 0.9), (0.9, 1.3)]
    new = prelabel_slices(models, plans, images, spacings)
    old = numpy_prelabel(models, plans, images, spacings)
    for got, (mean, labels, scores, features) in zip(new, old, strict=True):
        assert got.labels.dtype == np.uint8 and got.labels.shape == labels.shape
        differ = got.labels != labels
        top2 = -np.sort(-mean, axis=0)[:2]
        assert differ.mean() < 1e-3 and np.all(top2[0][differ] - top2[1][differ] < 1e-5)  # ties only
        for name, value in scores.items():
            assert got.scores[name] == pytest.approx(value, abs=SCORE_TOLERANCE), name
        assert got.scores["bald"] == 0.0
        np.testing.assert_allclose(got.features, features, atol=1e-5)
        assert got.features.dtype == np.float32
