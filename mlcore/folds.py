"""Patient-level k-fold split: seeded, saved once and reused so every round is comparable."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

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


def save_folds(path: str | Path, folds: list[list[str]]) -> None:
    """Write folds as JSON {"folds": [[...], ...]} atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump({"folds": [list(map(str, f)) for f in folds]}, fh, indent=1)
    os.replace(tmp, path)


def load_folds(path: str | Path) -> list[list[str]]:
    """Read folds written by save_folds; raises ValueError naming the problem for a malformed file."""
    try:
        raw = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    folds = raw.get("folds") if isinstance(raw, dict) else raw
    if not isinstance(folds, list) or not all(isinstance(f, list) for f in folds):
        raise ValueError(f"{path} must hold {{'folds': [[subject, ...], ...]}}")
    seen: set[str] = set()
    for fold in folds:
        overlap = seen.intersection(fold)
        if overlap:
            raise ValueError(f"{path}: subjects {sorted(overlap)} appear in more than one fold")
        seen.update(fold)
    return [[str(s) for s in fold] for fold in folds]
