"""Lesion metrics of trained models on labelled slices (mlcore.lesions on the models' predictions at
each slice's own grid, as mlcore.train.evaluate_models does for the pixel IoU)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlcore.data import Sample
from mlcore.lesions import MIN_IOU, lesion_counts, summarise


def evaluate_lesions(
    models: Any, samples: Sequence[Sample], cfg: Any, classes: Sequence[int], min_iou: float = MIN_IOU
) -> dict[str, Any]:
    """models: an nn.Module or a list (an ensemble); cfg: the TrainConfig with its plan; classes: the
    lesion class indices -> mlcore.lesions.summarise of the labelled samples, one image per slice,
    false positives per volume counted over the samples' volumes (their subjects where unset)."""
    from mlcore.predict import predict_slices

    plan = cfg.get_plan()
    if plan is None:
        raise ValueError("the config has no preprocessing plan: train it first")
    labelled = [s for s in samples if s.mask is not None]
    per_image = []
    for start in range(0, len(labelled), 16):
        chunk = labelled[start : start + 16]
        probs = predict_slices(
            models, plan, [s.image for s in chunk], [s.spacing for s in chunk], amp=cfg.amp
        )
        for p, s in zip(probs, chunk, strict=True):
            assert s.mask is not None
            per_image.append(lesion_counts(p.argmax(axis=0), s.mask, classes, min_iou))  # (H, W) each
    volumes = len({s.volume_key for s in labelled})
    return summarise(per_image, classes, volumes)
