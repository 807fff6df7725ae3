"""Checkpoints that carry their config: weights + TrainConfig + class names + extra (normalisation,
split, metrics). Written atomically so a crash never leaves a half-written live model."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mlcore.train import TrainConfig

FORMAT = "spinelab-mlcore-checkpoint/1"


def _plain(value: Any) -> Any:
    """NumPy values -> Python lists/scalars so the checkpoint loads with weights_only=True."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def save_checkpoint(
    path: str | os.PathLike[str],
    state_dict: dict[str, Tensor],
    cfg: TrainConfig,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write {format, state_dict, config, class_names, extra} to `path` atomically (temp file in the
    same folder, then os.replace). `extra` holds JSON-like values, e.g. {"norm": ..., "split": ...}."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
        "config": _plain(cfg.to_dict()),
        "class_names": list(cfg.class_names),
        "extra": _plain(extra or {}),
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The raw payload; ValueError naming the file when it is missing, truncated or not ours."""
    target = Path(path)
    if not target.is_file():
        raise ValueError(f"checkpoint {target} does not exist")
    try:
        payload = torch.load(target, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, random bytes, pickle errors
        raise ValueError(
            f"checkpoint {target} is corrupt or truncated: {exc.__class__.__name__}: {exc}"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"checkpoint {target} is not a SpineLab mlcore checkpoint")
    return payload


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, TrainConfig, dict[str, Any]]:
    """(model in eval mode on map_location, config, extra). ValueError for a bad file."""
    payload = read_checkpoint(path, map_location)
    cfg = TrainConfig.from_dict(payload["config"])
    model = cfg.build()
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise ValueError(f"checkpoint {path} does not match its architecture {cfg.arch}: {exc}") from exc
    model.to(map_location).eval()
    return model, cfg, dict(payload.get("extra") or {})
