"""Phantom benchmark: mean foreground IoU against wall time, the old recipe against the new one.

Data: the demo's phantom (12 classes, 256 x 256 px at ~1.1 mm, 9 slices per subject), the demo's
labelled subjects split 2 folds by patient, like the demo round. Both recipes train UD with 16
filters and batch 8 on one fold and are validated every `--every` steps (the old recipe, whose steps
cost ~4x more, every `--every / 4` steps, for `--steps / 4`: the same wall-time budget) on the held-out
subjects' whole slices, scored on the slices' own 256 px grids with the paper's IoU (mean over the 11
foreground classes). The runs follow each other in one process; compare them by seconds.

- old: SpineLab's recipe before issue 10: the network's paper optimiser (Adam 3.3e-4, constant),
  whole 256 px slices at their own spacing, the paper's augmentation, slices drawn uniformly.
- new: the recipe (AdamW 3e-3 + poly decay, Dice + CE with deep supervision, foreground-aware
  patches, nnU-Net-like augmentation) on the CPU preset's 2.2 mm plan (128 px patches).

    uv run python bench/bench_recipe.py --steps 500 --every 100

Prints one row per validation: steps, seconds, mean foreground IoU per recipe, and the per-class
IoU of the last one. Seconds include validation. What it does not show: other seeds, other data,
GPU timings, the effect of more subjects.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

import numpy as np
import torch

from mlcore.data import Sample, zscore, zscore_stats
from mlcore.phantom import LUMBAR_CLASSES, generate_subject
from mlcore.train import TrainConfig, train_fold


def demo_subjects(n: int, slices: int = 9, size: int = 256, seed: int = 7) -> list[Sample]:
    """The demo's phantom subjects (seed 7, as seed_demo writes them), in memory."""
    samples = []
    for i in range(n):
        sub_seed = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
        subject = generate_subject(sub_seed, slices, (size, size), subject_id=f"P{i + 1:04d}")
        t2 = zscore(subject.t2, *zscore_stats(subject.t2))
        for j in range(slices):
            samples.append(
                Sample(
                    f"{subject.subject_id}/{j}",
                    subject.subject_id,
                    t2[j][None],
                    subject.masks[j].astype(np.int64),
                    spacing=(subject.pixel_mm, subject.pixel_mm),
                )
            )
    return samples


def configs(steps: int, every: int) -> dict[str, TrainConfig]:
    old_every = max(1, every // 4)
    base = TrainConfig(
        arch="UD",
        in_channels=1,
        num_classes=12,
        class_names=list(LUMBAR_CLASSES),
        epochs=steps // every,
        steps_per_epoch=every,
        batch_size=8,
        val_every=1,
        device="cpu",
        model_overrides={"filters": 16},
    )
    return {
        "old": dataclasses.replace(
            base,
            epochs=max(1, steps // 4 // old_every),
            steps_per_epoch=old_every,
            optimiser="paper",
            lr_schedule="constant",
            augmentation="paper",
            fg_fraction=0.0,
            patch_size=256,
        ),
        "new": dataclasses.replace(base, min_spacing=2.2),
        # the recipe with each network's paper optimiser (Adam 3.3e-4 for UD) instead of AdamW 3e-3
        "new_paper_optimiser": dataclasses.replace(base, min_spacing=2.2, optimiser="paper"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=6, help="labelled demo subjects (2 folds)")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", default="new,old", help="new, old, new_paper_optimiser")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    samples = demo_subjects(args.subjects)
    subjects = sorted({s.subject for s in samples})
    val_subjects = set(subjects[1::2])
    train = [s for s in samples if s.subject not in val_subjects]
    val = [s for s in samples if s.subject in val_subjects]
    print(
        f"load {os.getloadavg()[0]:.1f}; {len(train)} train / {len(val)} val slices; torch threads {args.threads}"
    )
    results = {}
    chosen = args.variants.split(",")
    every = {"old": max(1, args.every // 4)}
    variants = configs(args.steps, args.every)
    for name in chosen:
        cfg = variants[name]
        started = time.perf_counter()
        result = train_fold(cfg, train, val)
        results[name] = {
            "curve": [
                {
                    "steps": h["epoch"] * every.get(name, args.every),
                    "seconds": round(h["seconds"], 1),
                    "mean_iou_fg": h["val_mean_iou"],
                }
                for h in result.history
            ],
            "iou": [None if not np.isfinite(v) else float(v) for v in result.iou],
            "plan": result.config.plan if result.config else None,
            "seconds": time.perf_counter() - started,
        }
        print(f"{name}: {results[name]['seconds']:.0f}s, load {os.getloadavg()[0]:.1f}", flush=True)
    for name, r in results.items():
        print(f"\n{name}: | steps | seconds | mean foreground IoU |")
        for point in r["curve"]:
            print(
                f"| {point['steps']} | {point['seconds']:.0f} | {100 * (point['mean_iou_fg'] or 0):.1f} % |"
            )
    print("\nper class (last validation): " + ", ".join(LUMBAR_CLASSES))
    for name, r in results.items():
        print(f"{name}: " + " ".join("-" if v is None else f"{100 * v:.0f}" for v in r["iou"]))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
