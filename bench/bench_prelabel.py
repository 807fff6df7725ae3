"""Pre-labelling cost against the forward passes it cannot avoid, measured in one process with the
variants interleaved and repeated (a loaded machine slows every variant of a repeat alike).

The workload is the pre-label job's (annotator.rounds.ranking.prelabel_work): the demo's default
model (the CPU preset: UD, 16 filters, 12 classes, 2 fold models, plan 2.2 mm -> 128 px patches) on
the demo's phantom slices (256 x 256 px at ~1.1 mm), in chunks of 16 slices, no TTA, no MC dropout.

Variants, each over the same slices:
- `forward fp32`: the ensemble's forward passes alone (every window through every model), plain
  fp32, contiguous, `torch.no_grad` (the issue's yardstick);
- `forward`: the same passes as production runs them (channels_last, `torch.inference_mode`);
- `prelabel`: `mlcore.prelabel.prelabel_slices` as the job calls it (resampling, windows, passes,
  probabilities back on each slice's grid, labels, scores, features), post-processing slice by
  slice in torch (`F.interpolate`, `entr`, `max`; one window per slice skips the window weighting);
- `prelabel numpy post`: the same passes with the post-processing issue 17's first version had
  (scipy resampling per class and slice, numpy argmax / partition / entropy per slice);
- `prelabel before`: the previous implementation (one `predict_slices` per model, contiguous, no_grad).

    uv run python bench/bench_prelabel.py --repeats 5
Not a test: the figures depend on the machine and its load; it prints both.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from mlcore.active import disagreement, mean_entropy, mean_margin  # noqa: E402
from mlcore.models import build_model  # noqa: E402
from mlcore.phantom import generate_subject  # noqa: E402
from mlcore.predict import plan_groups, predict_slices, sliding_window_probs_per_model, to_plan  # noqa: E402
from mlcore.prelabel import SlicePrediction, _pooled, prelabel_slices  # noqa: E402
from mlcore.preprocess import (  # noqa: E402
    Plan,
    resample_probs_back,
    resize_labels,
    zscore,
    zscore_stats,
)

CHUNK = 16  # slices per prelabel_slices call, as in prelabel_work


def prelabel_before(models, plans, images, spacings) -> list[SlicePrediction]:
    """The implementation before issue 17: one plan-aware prediction per model, contiguous, no_grad."""
    per_model = [
        predict_slices([m], [p], images, spacings, channels_last=False)
        for m, p in zip(models, plans, strict=True)
    ]
    out = []
    for n in range(len(images)):
        stack = np.stack([probs[n] for probs in per_model])
        mean = stack.mean(axis=0)[None]
        scores = {
            "entropy": float(mean_entropy(mean)[0]),
            "margin": float(mean_margin(mean)[0]),
            "disagreement": float(disagreement(stack.argmax(axis=1)[:, None])[0]),
            "bald": 0.0,
        }
        out.append(SlicePrediction(mean[0].argmax(axis=0).astype(np.uint8), scores, _pooled(mean[0])))
    return out


def prelabel_numpy_post(models, plans, images, spacings, batch_size: int = 8) -> list[SlicePrediction]:
    """Issue 17's first one-pass version: the same windows and passes, then per slice the ensemble
    mean resampled back class by class with scipy and numpy argmax, partition and entropy."""
    shapes = [np.shape(img)[1:] for img in images]
    totals: list = [None] * len(images)
    votes: list[list[np.ndarray]] = [[] for _ in images]
    for plan, indices in plan_groups(models, plans, images, spacings):
        patch = (int(plan.patch_size[0]), int(plan.patch_size[1]))
        per_model = sliding_window_probs_per_model(
            [models[i] for i in indices], to_plan(plan, images, spacings), patch, batch_size=batch_size
        )
        for n, shape in enumerate(shapes):
            group = [probs[n] for probs in per_model]
            native = resample_probs_back(np.mean(group, axis=0), shape) * len(group)
            totals[n] = native if totals[n] is None else totals[n] + native
            votes[n] += [resize_labels(g.argmax(axis=0).astype(np.uint8), shape) for g in group]
    out = []
    for n in range(len(images)):
        mean = (totals[n] / len(models))[None]
        scores = {
            "entropy": float(mean_entropy(mean)[0]),
            "margin": float(mean_margin(mean)[0]),
            "disagreement": float(disagreement(np.stack(votes[n])[:, None])[0]),
            "bald": 0.0,
        }
        out.append(SlicePrediction(mean[0].argmax(axis=0).astype(np.uint8), scores, _pooled(mean[0])))
    return out


def forward_only(models, windows: np.ndarray, batch: int, fast: bool) -> None:
    """Every window (N, C, P, Q) through every model, nothing else."""
    fmt = torch.channels_last if fast else torch.contiguous_format
    grad = torch.inference_mode if fast else torch.no_grad
    for model in models:
        model.to(memory_format=fmt)
        for start in range(0, len(windows), batch):
            x = torch.from_numpy(windows[start : start + batch]).contiguous(memory_format=fmt)
            with grad():
                out = model(x)
            (out[0] if isinstance(out, (list, tuple)) else out).float().softmax(dim=1).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slices", type=int, default=36, help="the demo's pool: 4 subjects x 9 slices")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8, help="windows per forward pass (predict's default)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    models = [build_model("UD", 1, 12, filters=args.filters).eval() for _ in range(2)]
    plan = Plan(target_spacing=(2.2, 2.2), patch_size=(128, 128))
    plans = [plan, plan]
    images: list[np.ndarray] = []
    seed = 0
    while len(images) < args.slices:
        subject = generate_subject(100 + seed, n_slices=9, size=(256, 256))
        stats = zscore_stats(subject.t2)
        images += [zscore(s, *stats)[None] for s in subject.t2]
        seed += 1
    images = images[: args.slices]
    spacings = [(1.1, 1.1)] * len(images)
    windows = np.stack(to_plan(plan, images, spacings))  # 256 px at 1.1 mm -> one 128 px window each

    # Contiguous and channels_last variants get their own copies of the models: converting shared
    # weights back and forth would put a conversion (and oneDNN's re-planning) in some timings only.
    contiguous = [copy.deepcopy(m) for m in models]
    before_models = [copy.deepcopy(m) for m in models]

    def chunked(fn: Callable[..., object], own: list[torch.nn.Module]) -> Callable[[], None]:
        def run() -> None:
            for start in range(0, len(images), CHUNK):
                fn(own, plans, images[start : start + CHUNK], spacings[start : start + CHUNK])

        return run

    variants: dict[str, Callable[[], None]] = {
        "forward fp32": lambda: forward_only(contiguous, windows, args.batch, fast=False),
        "forward": lambda: forward_only(models, windows, args.batch, fast=True),
        "prelabel": chunked(lambda m, p, i, s: prelabel_slices(m, p, i, s, batch_size=args.batch), models),
        "prelabel numpy post": chunked(
            lambda m, p, i, s: prelabel_numpy_post(m, p, i, s, args.batch), models
        ),
        "prelabel before": chunked(prelabel_before, before_models),
    }
    for run in variants.values():  # warm-up: first-call allocations, weight format conversions
        run()
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, run in variants.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    load = os.getloadavg()
    print(
        f"torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} CPUs; load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) at the end"
    )
    print(
        f"{len(images)} slices of 256x256 at 1.1 mm -> 128 px, 2 x UD (filters {args.filters}), "
        f"{args.repeats} interleaved repeats; median ms/slice (min..max), wall and this process's CPU time"
    )
    n = len(images)
    for name in variants:
        w, c = wall[name], cpu[name]
        print(
            f"  {name:20} wall {statistics.median(w) * 1000 / n:7.1f} ({min(w) * 1000 / n:.1f}..{max(w) * 1000 / n:.1f})"
            f"   cpu {statistics.median(c) * 1000 / n:7.1f} ({min(c) * 1000 / n:.1f}..{max(c) * 1000 / n:.1f})"
        )

    def ratio(a: str, b: str, clock: dict[str, list[float]]) -> str:
        """Median over repeats of a / b (each repeat's pair ran back to back), with the range."""
        per_repeat = [x / y for x, y in zip(clock[a], clock[b], strict=True)]
        return f"{statistics.median(per_repeat):.2f}x ({min(per_repeat):.2f}..{max(per_repeat):.2f})"

    for a, b in [
        ("prelabel", "forward"),
        ("prelabel numpy post", "forward"),
        ("prelabel", "forward fp32"),
        ("prelabel before", "prelabel"),
    ]:
        print(f"{a} / {b}: wall {ratio(a, b, wall)}, cpu {ratio(a, b, cpu)}")
    print("target: prelabel / forward <= 1.2x")


if __name__ == "__main__":
    main()
