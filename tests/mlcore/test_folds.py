from __future__ import annotations

import pytest

from mlcore.folds import patient_kfold

SUBJECTS = [f"sub-{i:02d}" for i in range(13)]


def test_every_subject_is_validated_in_exactly_one_fold():
    folds = patient_kfold(SUBJECTS, k=5, seed=1)
    flat = [s for fold in folds for s in fold]
    assert sorted(flat) == sorted(SUBJECTS)
    assert len(flat) == len(set(flat))


def test_repeated_slices_of_one_patient_never_straddle_folds():
    per_slice = [s for s in SUBJECTS for _ in range(4)]  # one entry per slice
    folds = patient_kfold(per_slice, k=4)
    assert sum(len(f) for f in folds) == len(SUBJECTS)


def test_fold_sizes_are_balanced():
    sizes = sorted(len(f) for f in patient_kfold(SUBJECTS, k=5))
    assert sizes == [2, 2, 3, 3, 3]


def test_the_split_is_deterministic_per_seed_and_independent_of_input_order():
    assert patient_kfold(SUBJECTS, 5, seed=3) == patient_kfold(list(reversed(SUBJECTS)), 5, seed=3)
    assert patient_kfold(SUBJECTS, 5, seed=3) != patient_kfold(SUBJECTS, 5, seed=4)


def test_more_folds_than_subjects_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="cannot make 5 folds from 3 distinct subjects"):
        patient_kfold(["a", "b", "b", "c"], k=5)
