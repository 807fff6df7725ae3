"""Phantom check of the intensity-curve augmentations: what each costs the 12 classes.

The CPU preset's round (UD, 16 filters, 2 folds x 2 x 250 steps of batch 4, 2.2 mm plan) as
`mlcore.train.cross_validate` on 6 phantom subjects of 9 slices at 256 px (`mlcore.cli.phantom_samples`,
not the demo's MIDS tree, so the figures are not the demo round's), one augmentation variant per run:

- nnunet: the default;
- multisite: the default plus random intensity curves (p 0.3), inverted half the time;
- monotone: the same curves never inverted (`curve_invert` 0), so tissues keep their brightness order.

    OMP_NUM_THREADS=1 uv run python bench/bench_curve_phantom.py nnunet   # one process per variant

Prints the seconds and the pooled CV IoU (mean over the 11 foreground classes, and per class). What it
does not show: other seeds, real MRI, the demo's own data.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from mlcore.cli import phantom_samples
from mlcore.folds import patient_kfold
from mlcore.phantom import LUMBAR_CLASSES
from mlcore.train import TrainConfig, cross_validate

VARIANTS = {
    "nnunet": ("nnunet", {}),
    "multisite": ("multisite", {}),
    "monotone": ("multisite", {"curve_invert": 0.0}),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("variant", choices=sorted(VARIANTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    augmentation, overrides = VARIANTS[args.variant]
    names = list(LUMBAR_CLASSES)
    samples = phantom_samples(6, 9, 256, 1, 7)
    cfg = TrainConfig(
        arch="UD",
        num_classes=len(names),
        class_names=names,
        epochs=2,
        batch_size=4,
        min_spacing=2.2,
        model_overrides={"filters": 16},
        augmentation=augmentation,
        augment_overrides=overrides,
        seed=args.seed,
    )
    folds = patient_kfold(sorted({s.subject for s in samples}), k=2, seed=args.seed)
    started = time.perf_counter()
    pooled = cross_validate(cfg, samples, folds).report["pooled"]
    seconds = time.perf_counter() - started
    print(
        f"{args.variant} seed {args.seed}: {seconds:.0f} s, pooled mean foreground IoU {100 * pooled['mean_iou_fg']:.1f} %"
    )
    print(json.dumps({name: round(100 * iou, 1) for name, iou in zip(names, pooled["iou"], strict=True)}))


if __name__ == "__main__":
    main()
