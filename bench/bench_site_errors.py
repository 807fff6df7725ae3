"""Where a real-MRI model's vertebra errors are, and what post-processing does to them.

Trains the models of `bench_sites.py` (same data, splits and recipe: within-site halves and
leave-one-site-out), saves them, then scores every held-out volume of their sites at its own 1 mm grid:

- an error budget of the raw predictions, as shares of the vertebra union per site: false positives
  in slices whose truth has no vertebra ("lateral"), below the volume's lowest labelled body plus
  2 rows ("below": the sacrum, whose first body one site labels and two do not), within 2 pixels of
  the truth's boundary ("rim") and elsewhere ("other": bowel, bladder, posterior elements); false
  negatives on the rim and elsewhere;
- vertebra IoU of the raw predictions and of candidate post-processings: "largest" (mlcore's
  `largest_foreground`), "drop10" (foreground components under 10 % of the largest removed),
  "smooth" (each slice's probabilities averaged with its two neighbours', 1/4 1/2 1/4, before the
  argmax) and "smooth+drop10";
- vertebra IoU of the raw predictions on the slices the scanner acquired and on the blends between
  them (volumes acquired 4 mm apart and redistributed at 1 mm, `bench_label_grid.py`), with the drawn
  over the true vertebra area.

    uv run python bench/bench_site_errors.py --steps 400 --seed 0 --models /tmp/site-models/s0
    uv run python bench/bench_site_errors.py --steps 400 --seed 0 --min-spacing 1.5 --only within \
        --models /tmp/site-models/s0-15
    # two one-thread processes side by side on 2 cores: one left-out site or one half each
    OMP_NUM_THREADS=1 uv run python bench/bench_site_errors.py --threads 1 --steps 2400 --only loso-VB3 \
        --models /tmp/site-models/s0-2400
    # the saved models scored on their own training subjects (is the model underfitting?)
    uv run python bench/bench_site_errors.py --score train --only within --models /tmp/site-models/s0
    # a recipe variant: TrainConfig fields over the shared recipe
    uv run python bench/bench_site_errors.py --overrides '{"fg_fraction": 0.33}' --models /tmp/site-models/fg
    # the mean probabilities of the saved models of the same name in several folders (other seeds)
    uv run python bench/bench_site_errors.py --only loso --models /tmp/site-models/s0-2400 \
        --ensemble /tmp/site-models/s1-2400
    # a learning curve in labelled subjects: one training subject per site (VB3 has two or three in
    # a half; the other sites one), paired with the full half of the same seed
    OMP_NUM_THREADS=1 uv run python bench/bench_site_errors.py --threads 1 --steps 2400 --min-spacing 1.5 \
        --only within-1 --subjects-per-site 1 --models /tmp/site-models/s0-2400-15-one
    # train without the in-between slices of volumes acquired 4 mm apart (scored on every slice)
    uv run python bench/bench_site_errors.py --train-on acquired --models /tmp/site-models/acq-s0
    # 2.5D input: each slice with its neighbours 2 slices (2 mm here) either side as extra channels,
    # the same intensity draws on all three (AugmentConfig.tie_channels)
    uv run python bench/bench_site_errors.py --context 2 --models /tmp/site-models/ctx2-s0
    # the slice's site as input: one constant channel per site (1 on its own, 0 on the others), so one
    # model can learn each site's own drawing and resampling rule (within-site evaluation only; no gain over
    # two seeds, bench/RESULTS.md, session 21)
    uv run python bench/bench_site_errors.py --site-channels --only within --models /tmp/site-models/site-s0
    # saved models scored with each scored volume's own BatchNorm statistics (mlcore.predict.adapt_batchnorm,
    # AdaBN); `train` re-estimates them on the training slices instead (the control)
    uv run python bench/bench_site_errors.py --only loso-VB3 --adapt-bn volume --models /tmp/site-models/s0-2400

Saved models in --models are reused whatever the options (delete them, or use a new folder per recipe, to retrain). What it does not show: other recipes,
more than the two within-site halves and three left-out sites, GPU timings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_sites as bs  # noqa: E402
from bench_label_grid import phases  # noqa: E402

from mlcore import metrics, postprocess  # noqa: E402
from mlcore.data import IGNORE_INDEX, Sample  # noqa: E402
from mlcore.predict import adapt_batchnorm, batchnorm_statistics, predict_slices  # noqa: E402
from mlcore.train import TrainConfig, plan_for, with_plan  # noqa: E402

VARIANTS = ("none", "largest", "drop10", "smooth", "smooth+drop10")


def drop_small(labels: np.ndarray, fraction: float) -> np.ndarray:
    """Foreground components (3D) smaller than `fraction` of the largest set to background."""
    foreground = labels > 0
    components, count = ndimage.label(foreground)
    if count <= 1:
        return labels
    sizes = np.bincount(components.ravel())
    sizes[0] = 0
    out = labels.copy()
    out[(sizes < fraction * sizes.max())[components] & foreground] = 0
    return out


def smooth(probs: np.ndarray) -> np.ndarray:
    """(N, K, H, W) probabilities of neighbouring slices averaged 1/4 1/2 1/4 along N."""
    out = probs.copy()
    out[1:-1] = 0.25 * probs[:-2] + 0.5 * probs[1:-1] + 0.25 * probs[2:]
    return out


def volumes(samples: list[Sample]) -> list[list[Sample]]:
    """The samples grouped by volume, each volume's slices in order."""
    by_volume: dict[str, list[Sample]] = {}
    for s in samples:
        by_volume.setdefault(s.volume_key, []).append(s)
    return [sorted(stack, key=lambda s: s.index or 0) for stack in by_volume.values()]


def slice_phases(stack: list[Sample], image_channels: int) -> list[str]:
    """`bench_label_grid.phases` of one volume's ordered slices, read on the slice itself (with
    --context it is the middle of the `image_channels` image channels; --site-channels come after)."""
    centre = image_channels // 2
    return phases([s.image[centre : centre + 1] for s in stack])


def with_context(samples: list[Sample], offset: int) -> list[Sample]:
    """Each slice's image as three channels: the slices `offset` before it, itself and `offset` after
    it in its volume (the nearest slice inside the volume at its ends)."""
    out = []
    for stack in volumes(samples):
        last = len(stack) - 1
        for i, s in enumerate(stack):
            around = [stack[min(max(i + d, 0), last)].image[0] for d in (-offset, 0, offset)]
            out.append(dataclasses.replace(s, image=np.stack(around)))
    return out


def with_site_channels(samples: list[Sample], sites: list[str]) -> list[Sample]:
    """Each slice's image with one constant channel per site appended: 1 on the slice's own site, 0 on
    the others (the intensity augmentation perturbs them like any channel: noise, brightness)."""
    out = []
    for s in samples:
        image = np.asarray(s.image, np.float32)
        onehot = np.zeros((len(sites), *image.shape[1:]), np.float32)
        onehot[sites.index(s.site)] = 1.0
        out.append(dataclasses.replace(s, image=np.concatenate([image, onehot])))
    return out


def image_channels(cfg: TrainConfig) -> int:
    """The config's channels that are images (not --site-channels)."""
    return sum(not c.startswith("site-") for c in cfg.channels)


def acquired_only(samples: list[Sample], n_image: int) -> list[Sample]:
    """The samples without the slices that are blends of acquired ones (bench_label_grid.phases);
    volumes without detected blends stay whole."""
    out = []
    for stack in volumes(samples):
        where = slice_phases(stack, n_image)
        out += [s for s, phase in zip(stack, where, strict=True) if phase != "in-between"]
    return out


def fewer_subjects(fit: list[Sample], per_site: int, seed: int) -> list[Sample]:
    """The training samples of at most `per_site` subjects of each site, drawn by `seed` (0: all).

    The held-out subjects do not change, and `main` keeps the plan fitted to the full training set (its
    patch is the median slice, which fewer subjects move), so a model trained on fewer subjects is paired
    with the full one of the same seed and split: a learning curve in labelled subjects per site."""
    if not per_site:
        return fit
    rng = np.random.default_rng(seed)
    keep: set[str] = set()
    for site in sorted({s.site for s in fit}):
        subjects = sorted({s.subject for s in fit if s.site == site})
        rng.shuffle(subjects)
        keep |= set(subjects[:per_site])
    return [s for s in fit if s.subject in keep]


def jobs(
    samples: list[Sample], seed: int, only: set[str], per_site: int = 0
) -> list[tuple[str, list[Sample], list[str], list[Sample]]]:
    """(model name, training samples, held-out subjects, the full training set the plan is fitted to)."""
    out = []
    a, b = bs.halves(samples, seed)
    for half, (fit, held) in enumerate(((a, b), (b, a)), start=1):
        if "within" in only or f"within-{half}" in only:
            full = [s for s in samples if s.subject in fit]
            out.append(
                ("within-" + "-".join(sorted(held)), fewer_subjects(full, per_site, seed), sorted(held), full)
            )
    for site in ("VB3", "VB1", "VB2"):
        if "loso" in only or f"loso-{site}" in only:
            held_out = sorted({s.subject for s in samples if s.site == site})
            full = [s for s in samples if s.site != site]
            out.append((f"loso-{site}", fewer_subjects(full, per_site, seed), held_out, full))
    return out


def score(
    cfgs: list[TrainConfig],
    models: list[torch.nn.Module],
    test: list[Sample],
    kind: str,
    budget: dict,
    ious: dict,
    by_phase: dict,
    tta: bool = False,
    adapt: str = "none",
    references: list | None = None,
) -> None:
    """adapt: "volume" or "site" re-estimates each model's BatchNorm statistics on each scored volume
    or on all of `test` (relative to `references`, one per model, when given); "none" keeps them."""
    plans = [plan for plan in (cfg.get_plan() for cfg in cfgs) if plan is not None]
    assert len(plans) == len(cfgs), "every saved model carries its plan"
    refs = references or [None] * len(models)

    def adapted(stack: list[Sample]) -> list[torch.nn.Module]:
        images, spacings = [s.image for s in stack], [s.spacing for s in stack]
        return [
            adapt_batchnorm(m, p, images, spacings, reference=r)
            for m, p, r in zip(models, plans, refs, strict=True)
        ]

    if adapt == "site":
        models = adapted(test)
    for stack in volumes(test):
        used = adapted(stack) if adapt == "volume" else models
        probs = np.stack(
            predict_slices(
                used,
                plans,
                [s.image for s in stack],
                [s.spacing for s in stack],
                batch_size=8,
                amp=False,
                tta=tta,
            )
        )
        raw = probs.argmax(1)
        smoothed = smooth(probs).argmax(1)
        preds = {
            "none": raw,
            "largest": postprocess.largest_foreground(raw),
            "drop10": drop_small(raw, 0.1),
            "smooth": smoothed,
            "smooth+drop10": drop_small(smoothed, 0.1),
        }
        site = stack[0].site
        truths = [np.asarray(s.mask) for s in stack]
        where = slice_phases(stack, image_channels(cfgs[0]))
        lowest = max(
            (int(np.nonzero((t == 1).any(axis=1))[0].max()) for t in truths if (t == 1).any()), default=-1
        )
        for name, labels in preds.items():
            cm = ious.setdefault(kind, {}).setdefault(site, {}).setdefault(name, np.zeros((3, 3), np.int64))
            for s, truth, pred, phase in zip(stack, truths, labels, where, strict=True):
                if s.labelled is not None:
                    pred = np.where(np.isin(pred, [0, *s.labelled]), pred, 0)
                keep = truth != IGNORE_INDEX
                cm += metrics.confusion_matrix(pred[keep], truth[keep], 3)
                if name != "none":
                    continue
                if phase:
                    pm = by_phase.setdefault(kind, {}).setdefault(site, {})
                    pm.setdefault(phase, np.zeros((3, 3), np.int64))
                    pm[phase] += metrics.confusion_matrix(pred[keep], truth[keep], 3)
                t, q = (truth == 1) & keep, (pred == 1) & keep
                d = budget.setdefault(kind, {}).setdefault(site, dict.fromkeys(BUDGET, 0))
                d["tp"] += int((t & q).sum())
                fp, fn = q & ~t, t & ~q
                if not t.any():
                    d["fp lateral"] += int(fp.sum())
                    continue
                rim = ndimage.binary_dilation(t, iterations=2) & ~ndimage.binary_erosion(t, iterations=2)
                below = np.zeros_like(t)
                below[lowest + 3 :] = True
                d["fp below"] += int((fp & below).sum())
                d["fp rim"] += int((fp & ~below & rim).sum())
                d["fp other"] += int((fp & ~below & ~rim).sum())
                d["fn rim"] += int((fn & rim).sum())
                d["fn other"] += int((fn & ~rim).sum())


def load(path: Path) -> tuple[TrainConfig, torch.nn.Module]:
    saved = torch.load(path, weights_only=False)
    plan_cfg = TrainConfig(**saved["config"])
    model = plan_cfg.build()
    model.load_state_dict(saved["state"])
    model.eval()
    return plan_cfg, model


def vertebra_rows(
    nested: dict[str, dict[str, dict[str, np.ndarray]]],
) -> list[tuple[str, str, dict[str, float], dict[str, np.ndarray]]]:
    """(kind, site, {name: vertebra IoU}, {name: confusion}) for every site whose confusions all score
    vertebrae (not the disc-only IVD site)."""
    out = []
    for kind, sites in nested.items():
        for site, cms in sites.items():
            row = {n: float(metrics.iou_per_class(cm)[1]) for n, cm in cms.items()}
            if all(np.isfinite(v) for v in row.values()):
                out.append((kind, site, row, cms))
    return out


BUDGET = ("tp", "fp lateral", "fp below", "fp rim", "fp other", "fn rim", "fn other")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("SPINELAB_SHARED_DATA", "../shared/data"))
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-spacing", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--only",
        default="within,loso",
        help="comma list: within, loso, one half (within-1) or one left-out site (loso-VB1)",
    )
    parser.add_argument(
        "--overrides",
        default="{}",
        help="TrainConfig fields over the recipe, JSON, e.g. '{\"fg_fraction\": 0.33}'",
    )
    parser.add_argument("--models", required=True, help="folder for the trained models (reused when present)")
    parser.add_argument(
        "--ensemble",
        default="",
        help="comma list of folders whose saved models of the same names are averaged with --models'",
    )
    parser.add_argument(
        "--site-channels",
        action="store_true",
        help="append one constant input channel per site (1 on the slice's own site): within-site only",
    )
    parser.add_argument(
        "--context",
        type=int,
        default=0,
        help="2.5D: add the slices this many positions either side as channels (0: one channel)",
    )
    parser.add_argument(
        "--train-on",
        choices=("all", "acquired"),
        default="all",
        help="acquired: train without the slices that are blends of acquired ones (their masks follow "
        "each site's resampling rule, bench_label_grid.py)",
    )
    parser.add_argument(
        "--score",
        choices=("held", "train"),
        default="held",
        help="train: score each model on its own training subjects (is it underfitting?)",
    )
    parser.add_argument(
        "--tta",
        action="store_true",
        help="score the mean of each slice's prediction and its anterior-posterior mirror (mlcore.predict)",
    )
    parser.add_argument(
        "--subjects-per-site",
        type=int,
        default=0,
        help="train on at most this many subjects of each site (drawn by --seed; the held-out subjects "
        "stay the same), 0: all. A learning curve in labelled subjects",
    )
    parser.add_argument(
        "--adapt-bn",
        choices=("none", "volume", "site", "train", "volume-relative", "site-relative"),
        default="none",
        help="re-estimate BatchNorm statistics before scoring (mlcore.predict.adapt_batchnorm): on each "
        "scored volume's own slices, on all scored slices of the evaluation, or on the model's training "
        "slices (a control: the same re-estimation without the new site); -relative: only the difference "
        "between the scored slices and the training slices, measured alike, applied to the stored ones",
    )
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    only = set(args.only.split(","))
    known = {"within", "within-1", "within-2", "loso", "loso-VB3", "loso-VB1", "loso-VB2"}
    if only - known:
        parser.error(f"unknown --only value(s) {sorted(only - known)}: choose from {sorted(known)}")
    if args.site_channels and any(o.startswith("loso") for o in only):
        parser.error("--site-channels: a left-out site's channel is never 1 in training; use --only within")
    if args.subjects_per_site < 0:
        parser.error(f"--subjects-per-site must be 0 (all) or more, not {args.subjects_per_site}")
    extra = [Path(d) for d in args.ensemble.split(",") if d]
    samples = bs.load_or_none(args.data, args.threads)
    if samples is None:
        return 0
    cfg = dataclasses.replace(
        bs.recipe(args.steps, args.seed, args.min_spacing), **json.loads(args.overrides)
    )
    if args.context:
        samples = with_context(samples, args.context)
        cfg = dataclasses.replace(
            cfg,
            in_channels=3,
            channels=[f"T2w-{args.context}", "T2w", f"T2w+{args.context}"],
            augment_overrides={**cfg.augment_overrides, "tie_channels": True},
        )
    if args.site_channels:
        sites = sorted({s.site for s in samples})
        samples = with_site_channels(samples, sites)
        cfg = dataclasses.replace(
            cfg,
            in_channels=cfg.in_channels + len(sites),
            channels=cfg.channels + [f"site-{s}" for s in sites],
        )
    budget: dict = {}
    ious: dict = {}
    by_phase: dict = {}
    for name, fit, held, full in jobs(samples, args.seed, only, args.subjects_per_site):
        missing = [str(d / f"{name}.pt") for d in extra if not (d / f"{name}.pt").exists()]
        if missing:
            parser.error(f"--ensemble: no saved model {', '.join(missing)}")
        path = Path(args.models) / f"{name}.pt"
        if path.exists():
            plan_cfg, model = load(path)
        else:
            train_on = fit if args.train_on == "all" else acquired_only(fit, image_channels(cfg))
            print(f"{name}: training on {', '.join(sorted({s.subject for s in fit}))}", flush=True)
            # fewer subjects: the full training set's plan, so only the subjects change
            job_cfg = with_plan(cfg, plan_for(cfg, full)) if args.subjects_per_site else cfg
            plan_cfg, model = bs.train(job_cfg, train_on, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(
                {
                    "state": model.state_dict(),
                    "config": plan_cfg.to_dict(),
                    "held": held,
                    "fit": sorted({s.subject for s in fit}),
                },
                path,
            )
        members = [(plan_cfg, model), *(load(d / f"{name}.pt") for d in extra)]
        scored = held if args.score == "held" else sorted({s.subject for s in fit})
        test = [s for s in samples if s.subject in scored and s.mask is not None]
        fit_images, fit_spacings = [s.image for s in fit], [s.spacing for s in fit]
        references = None
        if args.adapt_bn == "train":
            members = [(c, adapt_batchnorm(m, c.get_plan(), fit_images, fit_spacings)) for c, m in members]
        elif args.adapt_bn.endswith("-relative"):
            references = [batchnorm_statistics(m, c.get_plan(), fit_images, fit_spacings) for c, m in members]
        score(
            [c for c, _ in members],
            [m for _, m in members],
            test,
            name.split("-")[0],
            budget,
            ious,
            by_phase,
            args.tta,
            "none" if args.adapt_bn == "train" else args.adapt_bn.removesuffix("-relative"),
            references,
        )
    print("\n| evaluation | site | vertebra IoU | " + " | ".join(BUDGET[1:]) + " |")
    print("|---" * (len(BUDGET) + 2) + "|")
    for kind, sites in budget.items():
        for site, d in sites.items():
            union = sum(d.values())
            if not union:
                continue  # a site without vertebra labels (IVD)
            cells = [f"{100 * d[k] / union:.1f}" for k in BUDGET[1:]]
            print(f"| {kind} | {site} | {100 * d['tp'] / union:.1f} % | " + " | ".join(cells) + " |")
    print("\n| evaluation | site | " + " | ".join(VARIANTS) + " |")
    print("|---" * (len(VARIANTS) + 2) + "|")
    table: dict = {}
    for kind, site, row, _ in vertebra_rows(ious):
        table.setdefault(kind, {})[site] = row
        print(f"| {kind} | {site} | " + " | ".join(f"{100 * row[n]:.1f} %" for n in VARIANTS) + " |")
    print(
        "\nRaw predictions on the slices the scanner acquired and on the blends between them (bench_label_grid)"
    )
    print("| evaluation | site | acquired | in-between | drawn / true area: acquired | in-between |")
    print("|---|---|---|---|---|---|")
    phase_table: dict = {}
    for kind, site, row, cms in vertebra_rows(by_phase):
        phase_table.setdefault(kind, {})[site] = row
        for p, cm in cms.items():
            row[f"{p} area ratio"] = float(cm[:, 1].sum() / max(1, cm[1, :].sum()))
        cells = [f"{100 * row[p]:.1f} %" if p in row else "-" for p in ("acquired", "in-between")]
        cells += [f"{row[p + ' area ratio']:.2f}" if p in row else "-" for p in ("acquired", "in-between")]
        print(f"| {kind} | {site} | " + " | ".join(cells) + " |")
    if args.out:
        Path(args.out).write_text(
            json.dumps(
                {"args": vars(args), "budget": budget, "iou": table, "iou by phase": phase_table}, indent=1
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
