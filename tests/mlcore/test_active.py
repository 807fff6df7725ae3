"""Active-learning scores (pure functions on probabilities, then on real models) and selection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlcore.active import (
    bald,
    disagreement,
    k_center_greedy,
    mean_entropy,
    mean_margin,
    select,
)
from mlcore.inference import prelabel_slices
from mlcore.models import build_model
from mlcore.preprocess import Plan


def probs_from(pixel: list[float], n: int = 1, size: int = 4) -> np.ndarray:
    """(n, K, size, size) with the same class distribution at every pixel."""
    p = np.asarray(pixel, dtype=np.float32)[None, :, None, None]
    return np.broadcast_to(p, (n, len(pixel), size, size)).copy()


def test_uncertain_slices_score_higher_than_confident_ones_on_entropy_and_margin():
    confident = probs_from([0.98, 0.01, 0.01])
    uncertain = probs_from([0.34, 0.33, 0.33])
    both = np.concatenate([confident, uncertain])
    entropy, margin = mean_entropy(both), mean_margin(both)
    assert entropy[1] > entropy[0] and entropy[1] == pytest.approx(np.log(3), abs=1e-3)
    assert margin[1] == pytest.approx(0.99, abs=1e-3) and margin[0] == pytest.approx(0.03, abs=1e-3)


def test_bald_is_zero_when_samples_agree_and_positive_when_they_disagree():
    agree = np.stack([probs_from([0.5, 0.5])] * 4)  # (S, N, K, H, W)
    split = np.stack([probs_from([0.9, 0.1]), probs_from([0.1, 0.9])] * 2)
    assert bald(agree)[0] == pytest.approx(0.0, abs=1e-6)
    assert bald(split)[0] > 0.3


def test_disagreement_counts_pixels_where_fold_models_differ_and_is_zero_for_one_model():
    a = np.zeros((1, 2, 4, 4), dtype=np.int64)
    b = a.copy()
    b[0, 1, :2] = 1  # half of slice 1 differs
    assert disagreement(np.concatenate([a, b])).tolist() == [0.0, 0.5]
    assert disagreement(a).tolist() == [0.0, 0.0]


def test_select_ranks_every_id_by_score_and_is_deterministic():
    ids = ["a", "b", "c", "d"]
    scores = {"entropy": np.array([0.1, 0.9, 0.5, 0.7])}
    ranked = select(ids, scores, k=2, strategy="entropy", diversity=False)
    assert ranked == ["b", "d", "c", "a"]
    assert select(ids, scores, k=2, strategy="entropy", diversity=False) == ranked


def test_random_selection_is_seeded_and_differs_between_seeds():
    ids = list(range(50))
    first = select(ids, {}, k=5, strategy="random", seed=1)
    assert first == select(ids, {}, k=5, strategy="random", seed=1)
    assert first != select(ids, {}, k=5, strategy="random", seed=2)
    assert sorted(first) == ids


def test_diversity_keeps_near_duplicate_slices_out_of_one_batch():
    # Slices 0-4 are near-identical neighbours with the top scores; 5-9 lie elsewhere.
    features = np.array([[0, 0.01 * i] for i in range(5)] + [[5 + i, 5] for i in range(5)], dtype=float)
    scores = {
        "entropy": np.array([0.95, 0.94, 0.93, 0.92, 0.91, 0.90, 0.1, 0.1, 0.1, 0.1]),
        "features": features,
    }
    plain = select(list(range(10)), scores, k=2, strategy="entropy", diversity=False)
    diverse = select(list(range(10)), scores, k=2, strategy="entropy", diversity=True)
    assert plain[:2] == [0, 1]
    assert diverse[:2] == [0, 5]
    assert sorted(diverse) == list(range(10))


def test_k_center_greedy_covers_separate_clusters_first():
    features = np.array([[0, 0], [0.1, 0], [10, 0], [10.1, 0], [0, 10]], dtype=float)
    picked = k_center_greedy(features, 3, seed=0, first=0)
    assert picked[0] == 0 and set(picked) == {0, 2, 4} or set(picked) == {0, 3, 4}


def test_select_rejects_an_unknown_strategy_and_mismatched_scores():
    with pytest.raises(ValueError, match="strategy"):
        select([1, 2], {}, k=1, strategy="loudest")
    with pytest.raises(ValueError, match="2 ids"):
        select([1, 2], np.zeros(3), k=1, strategy="entropy")


def test_prelabels_and_scores_come_from_one_pass_per_model_on_each_slice_grid():
    torch.manual_seed(0)
    models = [build_model("UD", 1, 3, filters=4, dropout=0.5).eval() for _ in range(2)]
    plan = Plan(target_spacing=(2.0, 2.0), patch_size=(16, 16))
    rng = np.random.default_rng(0)
    images = [
        rng.normal(size=(1, 24, 30)).astype(np.float32),
        rng.normal(size=(1, 40, 20)).astype(np.float32),
    ]
    out = prelabel_slices(models, [plan, plan], images, [(1.0, 1.0), (1.0, 1.0)], mc_samples=4)
    assert [p.labels.shape for p in out] == [(24, 30), (40, 20)]  # back on each slice's own grid
    for p in out:
        assert set(p.scores) == {"entropy", "margin", "bald", "disagreement"}
        assert all(np.isfinite(v) for v in p.scores.values()) and p.scores["bald"] > 0
    assert out[0].features.shape == out[1].features.shape  # comparable for the diversity step
    single = prelabel_slices(models[:1], [plan], images, [(1.0, 1.0)] * 2)
    assert [p.scores["disagreement"] for p in single] == [0.0, 0.0]
    assert not models[0].training  # modes restored
