"""Real-data benchmark: vertebra and disc IoU within sites and on a left-out site.

Data: `../shared/data/mids-lumbar` (site VB3: 5 subjects, vertebrae L1-L5; site IVD: 1 subject, discs)
and `mids-multisite` (site VB1: 2 subjects, site VB2: 2 subjects; vertebra instances incl. thoracic
levels), loaded through their label tables (no hand-made map). Each site labels only some classes:
the others are unknown for it (marginal loss; never scored there), and rows above a volume's highest
label are unknown too (mids-lumbar leaves T11-T12 unlabelled).

- within-site: every site's subjects are split in two halves (seeded); a model trained on half A of
  every site is scored on half B and vice versa; each subject is scored once, by a model that saw
  other subjects of its site but never itself.
- leave-one-site-out: for each vertebra site, a model trained on all other sites is scored on it.

Every model uses the same recipe and settings (no tuning per split); each fold's FINAL weights are
scored (no epoch chosen on the scored data), on every slice of the scored volumes at their own 1 mm
grids, with the paper's IoU accumulated over all scored pixels of a site: the raw predictions, and
the same predictions with the largest foreground component kept per volume (mlcore.postprocess,
the one post-processing a model's cross-validation may choose).

    uv run python bench/bench_sites.py --steps 800 --out bench/results/sites.json

What it does not show: more than 10 subjects, other seeds (one run per split), the volumes the project
does not have, GPU timings.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mlcore import metrics
from mlcore.data import IGNORE_INDEX, Sample, load_folder
from mlcore.preprocess import resample_probs_back, resampled_shape, resize_labels
from mlcore.train import TrainConfig, evaluate_postprocessing, train_fold

CLASSES = ["background", "vertebrae", "intervertebral discs"]
SITE = re.compile(r"sub-(VB1|VB2|VB3|IVD)")


def site_of(subject: str) -> str:
    hit = SITE.match(subject)
    return hit.group(1) if hit else subject


def load(root: Path) -> list[Sample]:
    samples = []
    for folder in ("mids-lumbar", "mids-multisite"):
        for s in load_folder(root / folder, class_names=CLASSES, partial_extent=True):
            s.site = site_of(s.subject)
            samples.append(s)
    return samples


def recipe(
    steps: int, seed: int, min_spacing: float, filters: int = 16, augment_overrides: dict | None = None
) -> TrainConfig:
    """The one recipe every split of the real-MRI benchmarks trains with (nothing tuned per split)."""
    return TrainConfig(
        arch="UD",
        in_channels=1,
        num_classes=len(CLASSES),
        class_names=CLASSES,
        epochs=1,
        steps_per_epoch=steps,
        batch_size=8,
        min_spacing=min_spacing,
        seed=seed,
        device="cpu",
        model_overrides={"filters": filters},
        augment_overrides=augment_overrides or {},
    )


def load_or_none(data: str, threads: int) -> list[Sample] | None:
    """Both real folders' samples, or None (with a message) where the shared data is absent."""
    root = Path(data)
    if not (root / "mids-lumbar").is_dir() or not (root / "mids-multisite").is_dir():
        print(f"no real data under {root}: nothing to measure")
        return None
    torch.set_num_threads(threads)
    return load(root)


def halves(samples: list[Sample], seed: int) -> tuple[set[str], set[str]]:
    a, b = set(), set()
    rng = np.random.default_rng(seed)
    for site in sorted({s.site for s in samples}):
        subjects = sorted({s.subject for s in samples if s.site == site})
        rng.shuffle(subjects)
        cut = (len(subjects) + 1) // 2
        a |= set(subjects[:cut])
        b |= set(subjects[cut:])
    return a, b


def score(
    cfg: TrainConfig, model: torch.nn.Module, samples: list[Sample]
) -> dict[str, dict[str, np.ndarray]]:
    """Per site of the given samples, the confusion (K, K) of the raw predictions ("none") and of
    the predictions post-processed per volume ("largest_foreground", mlcore.postprocess)."""
    out = {}
    for site in sorted({s.site for s in samples}):
        out[site] = evaluate_postprocessing(
            model, [s for s in samples if s.site == site and s.mask is not None], cfg
        )
    return out


def train(cfg: TrainConfig, samples: list[Sample], label: str) -> tuple[TrainConfig, torch.nn.Module]:
    started = time.perf_counter()
    done = [0]

    def progress(p: dict[str, Any]) -> None:  # a line every 200 steps: runs of an hour or more
        done[0] += 1
        if done[0] % 200 == 0:
            eta = float(p["eta_seconds"])
            print(f"    {label}: step {done[0]}, eta {eta / 60:.0f} min", file=sys.stderr, flush=True)

    result = train_fold(cfg, samples, [], progress)
    model = result.config.build()
    model.load_state_dict(result.state_dict)
    print(
        f"  {label}: {len(samples)} slices, {time.perf_counter() - started:.0f}s, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return result.config, model.eval()


def ceiling(samples: list[Sample], spacing: float) -> dict[str, float]:
    """Vertebra IoU per site of the truth itself taken to `spacing` mm and back, as a perfect model
    at that plan would give it: its one-hot labels nearest-resized down, bilinear back, argmax."""
    hits: dict[str, list[int]] = {}
    for s in samples:
        if s.mask is None:
            continue
        truth = np.asarray(s.mask)
        small = resize_labels(truth, resampled_shape(truth.shape, s.spacing, (spacing, spacing)))
        onehot = np.stack([(small == k).astype(np.float32) for k in range(len(CLASSES))])
        back = resample_probs_back(onehot, truth.shape).argmax(axis=0)
        t, p = truth == 1, (back == 1) & (truth != IGNORE_INDEX)
        counts = hits.setdefault(s.site, [0, 0])
        counts[0] += int((t & p).sum())
        counts[1] += int((t | p).sum())
    return {site: i / u for site, (i, u) in hits.items() if u}


def iou_row(confusion: np.ndarray) -> dict[str, float | None]:
    iou = metrics.iou_per_class(confusion)
    return {name: (None if not np.isfinite(v) else float(v)) for name, v in zip(CLASSES, iou, strict=True)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("SPINELAB_SHARED_DATA", "../shared/data"))
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--min-spacing", type=float, default=2.0, help="plan spacing floor (mm)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="comma list: within, loso, ceiling")
    parser.add_argument(
        "--augment-overrides",
        default="{}",
        help="JSON of AugmentConfig fields, e.g. '{\"p_mirror\": 0.5}' (the settings before session 8: "
        '\'{"p_mirror": 0.5, "p_lowres": 0, "p_invert_gamma": 0}\')',
    )
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    samples = load_or_none(args.data, args.threads)
    if samples is None:
        return 0
    cfg = recipe(args.steps, args.seed, args.min_spacing, args.filters, json.loads(args.augment_overrides))
    only = set(filter(None, args.only.split(","))) or {"within", "loso"}
    print(f"{len(samples)} slices, sites {sorted({s.site for s in samples})}; {' '.join(sys.argv[1:])}")
    if "ceiling" in only:
        for mm in (args.min_spacing, 1.5, 1.25):
            shown = ", ".join(f"{site} {100 * v:.1f} %" for site, v in ceiling(samples, mm).items())
            print(f"  truth at {mm} mm and back (a perfect model's ceiling), vertebra IoU: {shown}")
    report: dict[str, dict[str, dict[str, dict[str, float | None]]]] = {}
    if "within" in only:
        a, b = halves(samples, args.seed)
        pooled: dict[str, dict[str, np.ndarray]] = {}
        for fit, held in ((a, b), (b, a)):
            plan_cfg, model = train(
                cfg, [s for s in samples if s.subject in fit], f"within-site half {sorted(held)}"
            )
            for site, cms in score(plan_cfg, model, [s for s in samples if s.subject in held]).items():
                for name, cm in cms.items():
                    pooled.setdefault(site, {})[name] = pooled.get(site, {}).get(name, 0) + cm
        report["within"] = {site: {n: iou_row(cm) for n, cm in cms.items()} for site, cms in pooled.items()}
        print(f"  within: {report['within']}", flush=True)
    if "loso" in only:
        report["left_out"] = {}
        for site in ("VB3", "VB1", "VB2"):
            plan_cfg, model = train(cfg, [s for s in samples if s.site != site], f"leave out {site}")
            cms = score(plan_cfg, model, [s for s in samples if s.site == site])[site]
            report["left_out"][site] = {n: iou_row(cm) for n, cm in cms.items()}
            print(f"  left out {site}: {report['left_out'][site]}", flush=True)
    if report:
        print(
            "\n| evaluation | site | vertebrae IoU | with largest_foreground | discs IoU | background IoU |"
            "\n|---|---|---|---|---|---|"
        )
    for kind, rows in report.items():
        for site, by_name in rows.items():
            row, post = by_name["none"], by_name["largest_foreground"]
            cells = [row["vertebrae"], post["vertebrae"], row["intervertebral discs"], row["background"]]
            shown = ["-" if v is None else f"{100 * v:.1f} %" for v in cells]
            print(f"| {kind} | {site} | {' | '.join(shown)} |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"args": vars(args), "report": report}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
