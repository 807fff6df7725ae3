"""The synthetic metastasis phantom: lesions inside vertebral bodies, visible on both channels, and the
12-class phantom unchanged for the same seeds."""

from __future__ import annotations

import numpy as np

from mlcore import phantom
from mlcore.phantom_lesions import LYTIC, SCLEROTIC, generate_lesion_subject, write_lesion_mids


def test_lesions_lie_in_vertebral_bodies_and_show_their_contrast():
    subject = generate_lesion_subject(3, n_slices=5, size=(128, 128), lesions=(4, 4))
    assert subject.stir.shape == subject.t1.shape == subject.masks.shape == (5, 128, 128)
    assert set(np.unique(subject.masks)) <= {0, LYTIC, SCLEROTIC} and subject.masks.any()
    assert len(subject.lesions) == 4
    # Every lesion pixel is a vertebral-body pixel of the 12-class anatomy at that position.
    params = phantom.sample_subject_params(np.random.default_rng(np.random.SeedSequence([3, 14])))
    mid = 2
    body = phantom.anatomy(params, (128, 128), 0.0).mask == phantom.VERT
    assert not (subject.masks[mid] & ~body).any()
    marrow = body & (subject.masks[mid] == 0)
    for kind, stir_brighter in ((LYTIC, True), (SCLEROTIC, False)):
        where = subject.masks == kind
        if not where.any():
            continue
        assert (subject.stir[where].mean() > subject.stir[mid][marrow].mean()) == stir_brighter
        assert subject.t1[where].mean() < subject.t1[mid][marrow].mean()  # dark on T1 either way


def test_the_lesion_phantom_is_seeded_and_leaves_the_lumbar_phantom_alone():
    before = phantom.generate_subject(7, n_slices=3, size=(64, 64))
    a, b = generate_lesion_subject(7, n_slices=3), generate_lesion_subject(7, n_slices=3)
    assert np.array_equal(a.stir, b.stir) and np.array_equal(a.masks, b.masks)
    assert not np.array_equal(a.stir, generate_lesion_subject(8, n_slices=3).stir)
    after = phantom.generate_subject(7, n_slices=3, size=(64, 64))  # no shared random state
    assert np.array_equal(before.t2, after.t2) and np.array_equal(before.masks, after.masks)


def test_the_mids_tree_has_stir_t1w_and_a_labelled_lesion_mask(tmp_path):
    written = write_lesion_mids(tmp_path, n_subjects=2, n_slices=3, size=(64, 64))
    names = sorted(p.name for p in written)
    assert sum(n.endswith("_STIR.nii.gz") for n in names) == 2
    assert sum(n.endswith("_T1w.nii.gz") for n in names) == 2
    assert sum(n.endswith("_desc-lesions_dseg.nii.gz") for n in names) == 2
