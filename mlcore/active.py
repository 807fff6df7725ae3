"""Active learning: per-slice informativeness scores and the (pure) ranking of candidate slices.

Score functions on probability arrays are pure and testable on hand-made inputs;
`mlcore.inference.prelabel_slices` applies them to the probabilities that also give the pre-label. Every score is "higher = more worth labelling"."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from itertools import combinations

import numpy as np

from mlcore.predict import entropy_map

STRATEGIES = ("random", "entropy", "margin", "bald", "disagreement")


def mean_entropy(probs: np.ndarray) -> np.ndarray:
    """probs (N, K, H, W) -> (N,) mean pixel entropy (nats)."""
    scores: np.ndarray = entropy_map(probs).reshape(len(probs), -1).mean(axis=1)
    return scores


def mean_margin(probs: np.ndarray) -> np.ndarray:
    """probs (N, K, H, W) -> (N,) mean over pixels of 1 - (p_top1 - p_top2)."""
    p = np.asarray(probs, dtype=np.float32)
    if p.shape[1] < 2:
        return np.zeros(len(p), dtype=np.float32)
    top2 = -np.partition(-p, 1, axis=1)[:, :2]  # (N, 2, H, W), largest first
    scores: np.ndarray = (1.0 - (top2[:, 0] - top2[:, 1])).reshape(len(p), -1).mean(axis=1)
    return scores


def bald_from_moments(mean_probs: np.ndarray, mean_entropy_map: np.ndarray) -> np.ndarray:
    """Mutual information H[E p] - E[H p] per pixel, averaged per slice.

    mean_probs (N, K, H, W) = mean over samples; mean_entropy_map (N, H, W) = mean of each sample's
    pixel entropy -> (N,) >= 0."""
    mi = entropy_map(mean_probs) - np.asarray(mean_entropy_map, dtype=np.float32)
    scores: np.ndarray = np.clip(mi, 0.0, None).reshape(len(mi), -1).mean(axis=1)
    return scores


def bald(mc_probs: np.ndarray) -> np.ndarray:
    """mc_probs (S, N, K, H, W) stochastic passes -> (N,) mean pixel mutual information."""
    p = np.asarray(mc_probs, dtype=np.float32)
    return bald_from_moments(p.mean(axis=0), entropy_map(p).mean(axis=0))


def disagreement(labels: np.ndarray) -> np.ndarray:
    """labels (M, N, H, W) argmax of M models -> (N,) mean over model pairs of the fraction of
    pixels on which the two disagree; zeros when M < 2."""
    lab = np.asarray(labels)
    pairs = list(combinations(range(len(lab)), 2))
    if not pairs:
        return np.zeros(lab.shape[1], dtype=np.float32)
    rates = [(lab[i] != lab[j]).reshape(lab.shape[1], -1).mean(axis=1) for i, j in pairs]
    scores: np.ndarray = np.mean(rates, axis=0).astype(np.float32)
    return scores


def k_center_greedy(features: np.ndarray, k: int, seed: int = 0, first: int | None = None) -> list[int]:
    """Farthest-first traversal: indices of k rows of features (N, D) that cover the set.

    Starts at `first` (or a seeded random row), then repeatedly adds the row farthest (Euclidean)
    from everything chosen so far. Deterministic for a given seed."""
    feats = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    n = len(feats)
    k = min(k, n)
    if k <= 0:
        return []
    start = int(np.random.default_rng(seed).integers(n)) if first is None else int(first)
    chosen = [start]
    dist = np.linalg.norm(feats - feats[start], axis=1)
    while len(chosen) < k:
        dist[chosen] = -1.0
        nxt = int(np.argmax(dist))  # ties -> lowest index
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(feats - feats[nxt], axis=1))
    return chosen


def select(
    ids: Sequence[Hashable],
    scores: dict[str, np.ndarray] | np.ndarray,
    k: int,
    strategy: str = "entropy",
    features: np.ndarray | None = None,
    diversity: bool = True,
    seed: int = 0,
    pool_factor: int = 3,
) -> list[Hashable]:
    """Rank every id; the first k are the next batch to label. Pure and deterministic.

    random: a seeded permutation. Otherwise by score (descending, ties by position); with
    diversity and features (N, D) (taken from scores["features"] when absent) the batch is chosen by
    k-center greedy among the top pool_factor * k, starting at the highest score, so it is not a run
    of neighbouring slices; the rest follow by score."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: choose one of {list(STRATEGIES)}")
    n = len(ids)
    if strategy == "random":
        return [ids[i] for i in np.random.default_rng(seed).permutation(n)]
    if isinstance(scores, dict):
        if strategy not in scores:
            raise ValueError(f"scores have no {strategy!r} entry (have {sorted(scores)})")
        values = np.asarray(scores[strategy], dtype=np.float64)
        if features is None:
            features = scores.get("features")
    else:
        values = np.asarray(scores, dtype=np.float64)
    if values.shape != (n,):
        raise ValueError(f"{n} ids but scores of shape {values.shape}")
    values = np.where(np.isfinite(values), values, -np.inf)
    order = list(np.argsort(-values, kind="stable"))
    if diversity and features is not None and 0 < k < n:
        pool = order[: min(n, pool_factor * k)]
        picked = [pool[i] for i in k_center_greedy(np.asarray(features)[pool], k, seed, first=0)]
        taken = set(picked)
        order = picked + [i for i in order if i not in taken]
    return [ids[i] for i in order]
