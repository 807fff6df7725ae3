"""Training throughput (images/s) and inference latency (ms/slice) of UVD and U1 at 256x256:
the fp32 baseline against the optimised path, measured in the same process.

CUDA: optimised = channels_last + bf16 autocast (+ cudnn.benchmark).
CPU:  optimised = channels_last for training; inference_mode + channels_last (+ torch.compile with
      --compile) for inference.

    uv run python bench/bench_training.py --steps 3 --batch 2 --filters 16
Not a test: numbers depend on the machine; it prints the device so figures stay attributable.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from mlcore.device import device_name, resolve_device  # noqa: E402
from mlcore.losses import dice_ce, supervised_loss  # noqa: E402
from mlcore.models import build_model, make_optimiser  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], None], steps: int, warmup: int, device: torch.device) -> float:
    for _ in range(warmup):
        fn()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    _sync(device)
    return (time.perf_counter() - start) / steps


def bench_train(arch: str, optimised: bool, args: argparse.Namespace, device: torch.device) -> float:
    """Images per second of full training steps (forward, deep-supervision loss, backward, step)."""
    torch.manual_seed(0)
    fmt = torch.channels_last if optimised else torch.contiguous_format
    model = build_model(arch, 1, 12, **({"filters": args.filters} if args.filters else {}))
    model = model.to(device, memory_format=fmt).train()
    opt = make_optimiser(model.spec, model.parameters())
    x = torch.randn(args.batch, 1, args.size, args.size, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 12, (args.batch, args.size, args.size), device=device)
    amp = optimised and device.type == "cuda"

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        ctx = torch.autocast("cuda", dtype=torch.bfloat16) if amp else contextlib.nullcontext()
        with ctx:
            out = model(x)
        supervised_loss(out, y, dice_ce).backward()
        opt.step()

    return args.batch / _timed(step, args.steps, args.warmup, device)


def bench_infer(arch: str, optimised: bool, args: argparse.Namespace, device: torch.device) -> float:
    """Milliseconds per slice of eval-mode forward passes on a batch."""
    torch.manual_seed(0)
    fmt = torch.channels_last if optimised else torch.contiguous_format
    model = build_model(arch, 1, 12, **({"filters": args.filters} if args.filters else {}))
    model = model.to(device, memory_format=fmt).eval()
    run: Callable[[torch.Tensor], torch.Tensor] = model
    if optimised and args.compile:
        run = torch.compile(model)
    x = torch.randn(args.batch, 1, args.size, args.size, device=device).contiguous(memory_format=fmt)
    amp = optimised and device.type == "cuda"

    def forward() -> None:
        grad = torch.inference_mode() if optimised else torch.no_grad()
        ctx = torch.autocast("cuda", dtype=torch.bfloat16) if amp else contextlib.nullcontext()
        with grad, ctx:
            run(x)

    return 1000 * _timed(forward, args.steps, args.warmup, device) / args.batch


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--archs", default="UVD,U1")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--filters", type=int, default=0, help="0 = the paper's initial filters")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compile", action="store_true", help="torch.compile the optimised inference model")
    args = parser.parse_args()
    device = resolve_device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    print(
        f"device: {device_name(device)}; torch {torch.__version__}; {args.size}x{args.size}, batch {args.batch}, "
        f"{args.steps} timed steps, filters {args.filters or 'paper'}"
    )
    print(f"{'arch':5} {'measure':24} {'baseline fp32':>14} {'optimised':>12} {'ratio':>7}")
    for arch in args.archs.split(","):
        base, fast = bench_train(arch, False, args, device), bench_train(arch, True, args, device)
        print(f"{arch:5} {'train images/s':24} {base:14.2f} {fast:12.2f} {fast / base:6.2f}x")
        base, fast = bench_infer(arch, False, args, device), bench_infer(arch, True, args, device)
        print(f"{arch:5} {'inference ms/slice':24} {base:14.1f} {fast:12.1f} {base / fast:6.2f}x")


if __name__ == "__main__":
    main()
