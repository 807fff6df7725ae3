"""Training and inference speed of the code production runs, baseline against candidate, interleaved
and repeated in one process (ABBA order in every repeat, so a machine whose load drifts slows both
alike; the ratio of each repeat is printed with the median, and the load average).

- `train_fold`: mlcore.train.train_fold (what a round's fold job runs) on the demo's phantom with the
  CPU preset (UD, 16 filters, plan 2.2 mm -> 128 px, batch 4), `--steps` optimiser steps and the
  validation of one fold's slices by sliding window; baseline = fp32 contiguous
  (`channels_last=False`), candidate = the default TrainConfig (channels_last; bf16 autocast on CUDA).
- `predict_batch`: mlcore.predict.predict_batch (two fold models on the demo's slices at the plan's
  128 px); baseline = contiguous (`channels_last=False`), candidate = the default (channels_last,
  inference_mode; bf16 on CUDA with --amp).
The pre-label job itself: bench/bench_prelabel.py.

    uv run python bench/bench_training.py --repeats 3 --steps 20
Not a test: figures depend on the machine and its load; it prints both.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from mlcore.data import Sample  # noqa: E402
from mlcore.device import device_name, resolve_device  # noqa: E402
from mlcore.models import build_model  # noqa: E402
from mlcore.phantom import LUMBAR_CLASSES, generate_subject  # noqa: E402
from mlcore.predict import predict_batch, to_plan  # noqa: E402
from mlcore.preprocess import Plan, zscore, zscore_stats  # noqa: E402
from mlcore.train import TrainConfig, train_fold  # noqa: E402


def phantom_samples(subjects: int, size: int) -> list[Sample]:
    samples = []
    for i in range(subjects):
        subject = generate_subject(7 + i, n_slices=9, size=(size, size))
        stats = zscore_stats(subject.t2)
        for n, (image, mask) in enumerate(zip(subject.t2, subject.masks, strict=True)):
            samples.append(
                Sample(
                    id=f"P{i}-{n}",
                    subject=f"P{i}",
                    image=zscore(image, *stats)[None],
                    mask=mask.astype(np.int64),
                    spacing=(1.1, 1.1),
                )
            )
    return samples


def interleaved(variants: dict[str, Callable[[], None]], repeats: int) -> dict[str, list[float]]:
    """Seconds per run of each of two variants, ABBA within every repeat (after one warm-up each)."""
    names = list(variants)
    for name in names:
        variants[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(repeats):
        for name in (*names, *reversed(names)):
            start = time.perf_counter()
            variants[name]()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    return {name: [sum(t[i : i + 2]) / 2 for i in range(0, len(t), 2)] for name, t in times.items()}


def report(what: str, unit: str, per: float, times: dict[str, list[float]]) -> None:
    base, cand = times["baseline"], times["candidate"]
    ratios = [b / c for b, c in zip(base, cand, strict=True)]
    print(
        f"{what:14} {unit:10} baseline {statistics.median(base) * per:9.1f}  candidate "
        f"{statistics.median(cand) * per:9.1f}  speed-up {statistics.median(ratios):.2f}x "
        f"(repeats {min(ratios):.2f}..{max(ratios):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="optimiser steps per train_fold run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--amp", action="store_true", help="predict_batch candidate with bf16 autocast")
    parser.add_argument("--only", default="train,predict")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    samples = phantom_samples(6, 256)
    train, val = samples[:27], samples[27:]
    load = os.getloadavg()
    print(
        f"device: {device_name(device)}; torch {torch.__version__}; load average {load[0]:.1f} / {load[1]:.1f} "
        f"(1/5 min) at the start; {args.repeats} repeats, ABBA"
    )
    if "train" in args.only:
        base = TrainConfig(
            arch="UD",
            in_channels=1,
            num_classes=len(LUMBAR_CLASSES),
            class_names=list(LUMBAR_CLASSES),
            epochs=1,
            steps_per_epoch=args.steps,
            batch_size=4,
            min_spacing=2.2,
            model_overrides={"filters": 16},
            device=str(device),
            channels_last=False,
            amp=False,
        )
        cand = dataclasses.replace(base, channels_last=True, amp=True)
        times = interleaved(
            {
                "baseline": lambda: train_fold(base, train, val),
                "candidate": lambda: train_fold(cand, train, val),
            },
            args.repeats,
        )
        report("train_fold", "s/fold", 1.0, times)
        print(
            f"  ({args.steps} steps of batch 4 + validation of {len(val)} slices; UD 16 filters, 2.2 mm plan)"
        )
    if "predict" in args.only:
        torch.manual_seed(0)
        models = [build_model("UD", 1, len(LUMBAR_CLASSES), filters=16).to(device).eval() for _ in range(2)]
        fast = [copy.deepcopy(m) for m in models]  # each variant keeps its own weights' memory format
        plan = Plan(target_spacing=(2.2, 2.2), patch_size=(128, 128))
        images = np.stack(to_plan(plan, [s.image for s in samples], [s.spacing for s in samples]))
        times = interleaved(
            {
                "baseline": lambda: predict_batch(models, images, channels_last=False),
                "candidate": lambda: predict_batch(fast, images, channels_last=True, amp=args.amp),
            },
            args.repeats,
        )
        report("predict_batch", "ms/slice", 1000 / len(images), times)
        print(f"  ({len(images)} slices of 128x128, 2 fold models, batch 8)")


if __name__ == "__main__":
    main()
