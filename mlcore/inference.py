"""Applying trained checkpoints to files: everything needed (plan, channels, normalisation, class
names) comes from the checkpoints, so a prediction needs only them and the input.

Inputs: a NIfTI volume (single-channel models), a MIDS tree (any channels; each series' channels
are taken from its files), or an images/ PNG folder. Outputs: one PNG per slice (pixel = class index)
and, for NIfTI and MIDS inputs, a `*_dseg.nii.gz` on the input's own grid and affine (the sagittal
re-orientation is undone) with a JSON label table beside it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image
from torch import nn

from mlcore import io, postprocess
from mlcore.checkpoint import load_checkpoint
from mlcore.predict import adapt_batchnorm, batchnorm_layers, predict_slices
from mlcore.prelabel import SlicePrediction, prelabel_slices
from mlcore.preprocess import (
    Plan,
    from_sagittal,
    resample_onto,
    spacing_of,
    to_sagittal,
    zscore,
    zscore_stats,
)
from mlcore.train import TrainConfig

# Pre-labelling lives in mlcore.prelabel; callers import it from here too.
__all__ = [
    "Ensemble",
    "SlicePrediction",
    "load_ensemble",
    "predict_inputs",
    "predict_volume",
    "prelabel_slices",
    "write_label_volume",
]


@dataclass
class Ensemble:
    """Fold models of one training run (or any models sharing classes and channels)."""

    models: list[nn.Module]
    configs: list[TrainConfig]
    plans: list[Plan]
    class_names: list[str]
    channels: list[str]

    @property
    def postprocess(self) -> str:
        """The post-processing its CV chose (mlcore.postprocess): the first model's, when all agree;
        none when the models disagree or none was chosen."""
        names = {cfg.applied_postprocess for cfg in self.configs}
        return names.pop() if len(names) == 1 else "none"

    def predict(
        self,
        images: Sequence[np.ndarray],
        spacings: Sequence[Sequence[float]],
        tta: bool = False,
        adapt_bn: bool = False,
    ) -> list[np.ndarray]:
        """(C, H, W) z-scored images with (row, col) mm spacings -> (H, W) uint8 label maps.

        adapt_bn: each model's BatchNorm statistics are first re-estimated on these images (one scan's
        slices; `mlcore.predict.adapt_batchnorm`): for a scanner or site the models never saw."""
        models = self.models
        if adapt_bn:
            models = [
                adapt_batchnorm(m, p, images, spacings) for m, p in zip(self.models, self.plans, strict=True)
            ]
        probs = predict_slices(models, self.plans, images, spacings, tta=tta)
        return [p.argmax(axis=0).astype(np.uint8) for p in probs]


def load_ensemble(paths: Sequence[str | Path], tta: bool = False, adapt_bn: bool = False) -> Ensemble:
    """Load checkpoints that agree on classes and channels; ValueError naming the one that does not.

    tta: the ensemble will average each slice with its anterior-posterior mirror, so every model
    must have been trained with mirroring; ValueError naming the first that was not. The default
    recipe does not mirror (no spine looks like that), and a model shown mirrored slices it never
    learned from lost up to 11.5 points of vertebra IoU on a real-MRI site (bench/RESULTS.md, session 15).
    adapt_bn: the ensemble will re-estimate BatchNorm statistics per scan; ValueError naming the first
    model that has none (trained with norm "instance", it already normalises each image by its own)."""
    models: list[nn.Module] = []
    configs: list[TrainConfig] = []
    plans: list[Plan] = []
    for path in paths:
        model, cfg, _ = load_checkpoint(path)
        plan = cfg.get_plan()
        if plan is None:
            raise ValueError(
                f"checkpoint {path} has no preprocessing plan (written by an older SpineLab): retrain it"
            )
        if configs and (cfg.class_names != configs[0].class_names or cfg.channels != configs[0].channels):
            raise ValueError(
                f"checkpoint {path} has classes {cfg.class_names} / channels {cfg.channels}, the first has "
                f"{configs[0].class_names} / {configs[0].channels}: they cannot form one ensemble"
            )
        mirrored = cfg.augment and cfg.augment_config().p_mirror > 0
        if tta and not mirrored:
            raise ValueError(
                f"checkpoint {path} was trained without anterior-posterior mirroring (augmentation "
                f"{cfg.augmentation!r}{'' if cfg.augment else ', off'}): flip TTA would average its labels "
                "with those of mirrored slices it never learned from; predict without --tta, or train "
                "with --augmentation paper"
            )
        if adapt_bn and not batchnorm_layers(model):
            raise ValueError(
                f"checkpoint {path} has no BatchNorm statistics to re-estimate (its model normalises each "
                f"image by its own statistics, norm {cfg.model_overrides.get('norm')!r}): predict without "
                "--adapt-bn"
            )
        models.append(model)
        configs.append(cfg)
        plans.append(plan)
    if not models:
        raise ValueError("no checkpoint given")
    return Ensemble(models, configs, plans, list(configs[0].class_names), list(configs[0].channels))


def predict_volume(
    ensemble: Ensemble, channel_paths: Sequence[Path], tta: bool = False, adapt_bn: bool = False
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Label volume on the first channel's own grid: (labels in the source axis order, source affine,
    source shape). Further channels are resampled onto the first one's grid. adapt_bn: the models'
    BatchNorm statistics re-estimated on this volume's slices first (`Ensemble.predict`)."""
    if len(channel_paths) != len(ensemble.channels):
        raise ValueError(
            f"the model expects channels {ensemble.channels}, got {len(channel_paths)} file(s): "
            f"{[p.name for p in channel_paths]}"
        )
    data, affine = io.read_nifti(channel_paths[0])
    shape = tuple(data.shape)
    stack, stack_aff = to_sagittal(data, affine)
    planes = [zscore(stack, *zscore_stats(stack))]
    for path in channel_paths[1:]:
        other, other_aff = io.read_sagittal(path)
        planes.append(
            zscore(resample_onto(other, other_aff, stack.shape, stack_aff, order=1), *zscore_stats(other))
        )
    images = np.stack(planes, axis=1)  # (N, C, H, W)
    spacing = spacing_of(stack_aff)
    labels = np.stack(
        ensemble.predict(list(images), [(spacing[1], spacing[2])] * len(images), tta=tta, adapt_bn=adapt_bn)
    )
    labels = postprocess.apply(ensemble.postprocess, labels)  # the whole volume: one stack
    return from_sagittal(labels, affine, shape), affine, shape


def write_label_volume(
    path: Path, labels: np.ndarray, affine: np.ndarray, class_names: Sequence[str]
) -> list[Path]:
    """A uint8 *_dseg.nii.gz with its label table (.json) beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = nib.Nifti1Image(labels.astype(np.uint8), affine)
    img.header.set_xyzt_units("mm")
    nib.save(img, str(path))
    table = path.with_name(re.sub(r"\.nii(\.gz)?$", ".json", path.name))
    table.write_text(
        json.dumps({"Labels": {str(i): n for i, n in enumerate(class_names)}, "Background": 0}, indent=1)
    )
    return [path, table]


def _png(out: Path, name: str, labels: np.ndarray) -> None:
    out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(labels.astype(np.uint8), mode="L").save(
        out / (re.sub(r"[^A-Za-z0-9._-]+", "_", name) + ".png")
    )


def predict_inputs(
    ensemble: Ensemble, inputs: Sequence[Path], out: Path, tta: bool = False, adapt_bn: bool = False
) -> dict[str, int]:
    """Predict every input (see the module docstring); returns {"png": n, "nifti": n} written.

    adapt_bn: BatchNorm statistics re-estimated per scan (`Ensemble.predict`): on each volume's
    slices, or on all the slices of a PNG folder, taken as one scan."""
    written = {"png": 0, "nifti": 0}
    for source in inputs:
        volumes: list[tuple[str, list[Path]]] = []
        if source.is_file():
            volumes.append((re.sub(r"\.nii(\.gz)?$", "", source.name), [source]))
        elif source.is_dir() and (source / "images").is_dir():
            if len(ensemble.channels) != 1:
                raise ValueError(
                    f"{source}: a PNG folder has one channel, the model expects {ensemble.channels}"
                )
            pngs = [
                (name, zscore(image, *zscore_stats(image))[None])
                for name, image, _ in io.read_png_folder(source)
            ]
            if adapt_bn and pngs:  # the folder is one scan: its slices adapt the statistics together
                adapted = dataclasses.replace(
                    ensemble,
                    models=[
                        adapt_batchnorm(m, p, [x for _, x in pngs], [(1.0, 1.0)] * len(pngs))
                        for m, p in zip(ensemble.models, ensemble.plans, strict=True)
                    ],
                )
            else:
                adapted = ensemble
            for name, image in pngs:
                labels = adapted.predict([image], [(1.0, 1.0)], tta=tta)[0]
                labels = postprocess.apply(ensemble.postprocess, labels)  # a slice alone: its own stack
                _png(out, f"{source.name}_{name}", labels)
                written["png"] += 1
            continue
        elif source.is_dir() and io.is_mids_tree(source):
            for series in io.find_mids_series(source):
                missing = [c for c in ensemble.channels if c not in series.images]
                if missing:
                    raise ValueError(
                        f"{series.stem}: the model needs channel(s) {missing}, found {sorted(series.images)}"
                    )
                volumes.append((series.stem, [series.images[c] for c in ensemble.channels]))
        else:
            raise ValueError(f"{source} is not a NIfTI file, a MIDS tree or an images/ folder")
        for stem, paths in volumes:
            labels, affine, _ = predict_volume(ensemble, paths, tta=tta, adapt_bn=adapt_bn)
            write_label_volume(
                out / f"{stem}_desc-prediction_dseg.nii.gz", labels, affine, ensemble.class_names
            )
            written["nifti"] += 1
            stack, _ = to_sagittal(labels, affine)
            for i, plane in enumerate(stack):
                _png(out, f"{stem}_{i:03d}", plane)
                written["png"] += 1
    return written
