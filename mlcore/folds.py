"""Patient-level k-fold split: seeded, so every round is comparable (annotator keeps it in ProjectSplit)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def patient_kfold(subjects: Sequence[str], k: int = 5, seed: int = 0) -> list[list[str]]:
    """Validation subjects per fold: every distinct subject in exactly one fold, fold sizes differ by at
    most one. Deterministic for a given set of subjects and seed (input order does not matter)."""
    unique = sorted(set(subjects))
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    if k > len(unique):
        raise ValueError(
            f"cannot make {k} folds from {len(unique)} distinct subjects; use k <= {len(unique)}"
        )
    order = np.random.default_rng(seed).permutation(len(unique))
    return [sorted(unique[i] for i in order[f::k]) for f in range(k)]
