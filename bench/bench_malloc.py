"""glibc malloc settings tried for the workers: PyTorch CPU training steps and forward passes with
and without MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ (not adopted: bench/RESULTS.md).

The settings act when a process starts, so the two variants cannot share a process: each repeat runs
one child per variant, back to back in alternating order, and the ratio is taken per pair (a loaded
machine slows both children of a pair alike). Each child builds the demo's model (UD, 16 filters,
12 classes, channels_last), warms up, then times training steps (batch 4 of 128 x 128, AdamW, one
thread: a gpu worker's fold on this CPU) and inference batches (8 windows, two threads).

    uv run python bench/bench_malloc.py --repeats 5
Not a test: the figures depend on the machine and its load; it prints both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUNED = {"MALLOC_MMAP_THRESHOLD_": "268435456", "MALLOC_TRIM_THRESHOLD_": "1073741824"}


def child(steps: int) -> None:
    """Time training steps and inference batches in this process; print JSON ms per step / batch."""
    import torch

    sys.path.insert(0, str(ROOT))
    from mlcore.models import build_model

    torch.manual_seed(0)
    model = build_model("UD", 1, 12, filters=16).to(memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(model.parameters(), 3e-3)
    x = torch.randn(4, 1, 128, 128).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 12, (4, 128, 128))

    def train_step() -> None:
        optimiser.zero_grad()
        out = model(x)
        logits = out[0] if isinstance(out, (list, tuple)) else out
        torch.nn.functional.cross_entropy(logits, y).backward()
        optimiser.step()

    windows = torch.randn(8, 1, 128, 128).contiguous(memory_format=torch.channels_last)

    def infer() -> None:
        with torch.inference_mode():
            out = model(windows)
            (out[0] if isinstance(out, (list, tuple)) else out).softmax(dim=1).numpy()

    def timed(fn: Callable[[], None], threads: int, count: int) -> float:
        torch.set_num_threads(threads)
        for _ in range(3):
            fn()
        start = time.perf_counter()
        for _ in range(count):
            fn()
        return (time.perf_counter() - start) * 1000 / count

    model.train()
    train_ms = timed(train_step, 1, steps)
    model.eval()
    infer_ms = timed(infer, 2, steps)
    print(json.dumps({"train_ms": train_ms, "infer_ms": infer_ms}))


def run_child(tuned: bool, steps: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in TUNED}
    env.update({"OMP_NUM_THREADS": "2", **(TUNED if tuned else {})})
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--steps", str(steps)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.steps)
        return
    pairs: list[tuple[dict[str, float], dict[str, float]]] = []
    for repeat in range(args.repeats):
        order = (False, True) if repeat % 2 == 0 else (True, False)
        runs = {tuned: run_child(tuned, args.steps) for tuned in order}
        pairs.append((runs[False], runs[True]))
    load = os.getloadavg()
    print(
        f"{args.repeats} pairs of fresh processes, alternating order; load average {load[0]:.1f} / {load[1]:.1f}"
    )
    for key, label in (("train_ms", "training step (1 thread)"), ("infer_ms", "inference batch (2 threads)")):
        plain = [p[key] for p, _ in pairs]
        tuned = [t[key] for _, t in pairs]
        ratios = [p / t for p, t in zip(plain, tuned, strict=True)]
        print(
            f"  {label:28} plain {statistics.median(plain):6.0f} ms   tuned {statistics.median(tuned):6.0f} ms   "
            f"plain / tuned {statistics.median(ratios):.2f}x ({min(ratios):.2f}..{max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
