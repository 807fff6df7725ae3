"""Inference on in-memory arrays: shapes, probabilities, ensembles, uncertainty."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlcore.models import build_model
from mlcore.predict import BatchPrediction, Prediction, predict, predict_batch


def tiny(seed: int = 0, classes: int = 3) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model("UD", 1, classes, filters=4).eval()


def noise(n: int = 2, size: int = 28) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, 1, size, size)).astype(np.float32)


def test_prediction_of_one_slice_has_label_map_probabilities_and_entropy():
    pred = predict(tiny(), noise(1)[0])
    assert isinstance(pred, Prediction)
    assert pred.labels.shape == (28, 28) and pred.labels.dtype == np.uint8
    assert pred.probs.shape == (3, 28, 28) and pred.probs.dtype == np.float32
    assert pred.entropy.shape == (28, 28) and pred.entropy.dtype == np.float32
    np.testing.assert_allclose(pred.probs.sum(axis=0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(pred.labels, pred.probs.argmax(axis=0))


def test_odd_sized_slices_come_back_at_their_own_size():
    pred = predict(tiny(), np.zeros((1, 27, 33), dtype=np.float32))
    assert pred.labels.shape == (27, 33)


def test_batch_prediction_matches_slice_by_slice_prediction():
    model, images = tiny(), noise(3)
    batch = predict_batch(model, images, batch_size=2)
    assert isinstance(batch, BatchPrediction) and batch.probs.shape == (3, 3, 28, 28)
    np.testing.assert_allclose(batch.probs[2], predict(model, images[2]).probs, atol=1e-5)


def test_a_fold_ensemble_averages_the_softmax_of_its_models():
    a, b, image = tiny(1), tiny(2), noise(1)[0]
    both = predict([a, b], image).probs
    np.testing.assert_allclose(both, (predict(a, image).probs + predict(b, image).probs) / 2, atol=1e-5)


def test_flip_tta_and_mc_dropout_still_give_normalised_probabilities_and_restore_modes():
    model = tiny()
    pred = predict(model, noise(1)[0], tta=True, mc_samples=3)
    np.testing.assert_allclose(pred.probs.sum(axis=0), 1.0, atol=1e-5)
    assert not model.training
    model.train()
    predict(model, noise(1)[0])
    assert model.training


class Confident(torch.nn.Module):
    """Always 12 logits in favour of class 0: a model that is sure of itself."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(x.shape[0], 3, *x.shape[-2:])
        logits[:, 0] = 12.0 * self.scale
        return logits


def test_an_untrained_model_on_noise_is_less_certain_than_a_confident_model():
    image = noise(1)[0]
    assert predict(tiny(), image).entropy.mean() > 10 * predict(Confident(), image).entropy.mean()


def test_a_wrongly_shaped_image_is_refused_with_its_shape():
    with pytest.raises(ValueError, match=r"\(28, 28\)"):
        predict(tiny(), np.zeros((28, 28), dtype=np.float32))
