"""Fold checkpoints in the default storage: where a round's weights live, atomic writes (remote
storage gets the finished file), and loading a stored model for evaluation or pre-labelling."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from annotator.models import ModelVersion, Project


def weights_name(project: Project, label: str, fold: int | str) -> str:
    """Storage path of a fold checkpoint: models/<project>/<version>/fold<k>.pt (foldall.pt: the final
    model on every subject)."""
    return f"{settings.SPINELAB['MODELS_DIR']}/{project.slug}/{label}/fold{fold}.pt"


def write_checkpoint(name: str, state_dict: dict, cfg: Any, extra: dict[str, Any]) -> str:
    """Write atomically (mlcore.checkpoint: temp file + rename); remote storage gets the finished file."""
    from mlcore.checkpoint import save_checkpoint

    try:
        local = default_storage.path(name)
    except NotImplementedError:  # S3 and friends: write locally, then upload the complete file
        with tempfile.TemporaryDirectory() as folder:
            path = save_checkpoint(os.path.join(folder, "fold.pt"), state_dict, cfg, extra)
            if default_storage.exists(name):
                default_storage.delete(name)
            with open(path, "rb") as handle:
                return default_storage.save(name, File(handle))
    save_checkpoint(local, state_dict, cfg, extra)
    return name


def read_model(name: str) -> tuple[Any, Any, dict[str, Any]]:
    """(model in eval mode, TrainConfig, extra) of a stored fold checkpoint."""
    from mlcore.checkpoint import load_checkpoint
    from mlcore.device import resolve_device

    device = resolve_device(settings.SPINELAB["TRAINING_DEVICE"])
    try:
        return load_checkpoint(default_storage.path(name), map_location=device)
    except NotImplementedError:
        with tempfile.TemporaryDirectory() as folder, default_storage.open(name, "rb") as src:
            local = os.path.join(folder, "fold.pt")
            with open(local, "wb") as dst:
                dst.write(src.read())
            return load_checkpoint(local, map_location=device)


def inference_weights(version: ModelVersion) -> list[str]:
    """What pre-labels with a version: its final model on every subject when the round trained one,
    else the fold ensemble."""
    final = (version.config or {}).get("final_weights")
    return [final] if final else list(version.weights)
