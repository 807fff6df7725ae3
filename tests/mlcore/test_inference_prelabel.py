"""Pre-labelling: one forward pass per model and window batch gives the pre-label and its scores, and
the fast path (channels_last, inference_mode) predicts what the plain fp32 path predicts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlcore.inference import prelabel_slices
from mlcore.models import build_model
from mlcore.predict import predict_slices
from mlcore.preprocess import Plan


def _models(count: int, classes: int = 3) -> list[torch.nn.Module]:
    torch.manual_seed(0)
    return [build_model("UD", 1, classes, filters=4).eval() for _ in range(count)]


def _images() -> tuple[list[np.ndarray], list[tuple[float, float]]]:
    rng = np.random.default_rng(1)
    images = [
        rng.normal(size=(1, 40, 36)).astype(np.float32),
        rng.normal(size=(1, 28, 50)).astype(np.float32),
    ]
    return images, [(1.0, 1.0), (0.8, 1.2)]


def _count_calls(models: list[torch.nn.Module]) -> list[int]:
    calls = [0] * len(models)
    for i, model in enumerate(models):

        def hook(*_: object, i: int = i) -> None:
            calls[i] += 1

        model.register_forward_hook(hook)
    return calls


def test_every_model_runs_once_per_window_batch_for_labels_and_scores_together():
    models = _models(2)
    calls = _count_calls(models)
    plan = Plan(target_spacing=(2.0, 2.0), patch_size=(16, 16))
    images, spacings = _images()
    out = prelabel_slices(models, [plan, plan], images, spacings, batch_size=64)
    # 40x36 -> 20x18 (4 windows of 16 px), 28x50 at (0.8, 1.2) mm -> 11x30 (padded: 3 windows): one batch
    assert calls == [1, 1]
    assert [p.labels.shape for p in out] == [(40, 36), (28, 50)]
    for p in out:
        assert set(p.scores) == {"entropy", "margin", "bald", "disagreement"}
        assert 0.0 <= p.scores["disagreement"] <= 1.0


def test_prelabels_are_the_ensemble_prediction_on_each_slice_grid():
    models = _models(3)
    plans = [
        Plan(target_spacing=(2.0, 2.0), patch_size=(16, 16)),
        Plan(target_spacing=(2.0, 2.0), patch_size=(16, 16)),
        Plan(target_spacing=(1.5, 1.5), patch_size=(32, 32)),  # a model with its own plan
    ]
    images, spacings = _images()
    out = prelabel_slices(models, plans, images, spacings)
    probs = predict_slices(models, plans, images, spacings)
    for p, expected in zip(out, probs, strict=True):
        agree = (p.labels == expected.argmax(axis=0)).mean()
        assert agree > 0.999  # ties aside, the same labels


@pytest.mark.parametrize("tta", [False, True])
def test_channels_last_and_inference_mode_predict_what_plain_fp32_predicts(tta):
    models = _models(2, classes=4)
    plan = Plan(target_spacing=(1.0, 1.0), patch_size=(32, 32))
    images, spacings = _images()
    plain = predict_slices(models, plan, images, spacings, tta=tta, channels_last=False)
    fast = predict_slices(models, plan, images, spacings, tta=tta, channels_last=True)
    for a, b in zip(plain, fast, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    assert not any(m.training for m in models)  # modes restored
