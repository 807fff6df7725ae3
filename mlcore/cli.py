"""`python -m mlcore train|cv|predict|simulate`: the command line around mlcore (no Django).

Data comes from one or more folders (MIDS trees or images/+masks/ PNG folders, via
mlcore.data.load_folder) or from `--phantom N` synthetic subjects generated in memory. Slices keep
their own grids; training resamples them to the plan's spacing (`--min-spacing` for a coarser one).
`predict` needs only checkpoints and inputs (NIfTI files, MIDS trees or PNG folders): the plan,
channels, normalisation and class names travel in the checkpoint."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from mlcore import folds as kfold
from mlcore import metrics
from mlcore.augment import AUGMENTATIONS
from mlcore.data import Sample, load_folder, zscore, zscore_stats
from mlcore.phantom import LUMBAR_CLASSES, generate_subject

# name -> (mapping source label -> class, class names); unmapped labels become background.
LABEL_MAPS: dict[str, tuple[dict[int, int], list[str]]] = {
    "vertebrae": ({1: 1, 2: 1, 3: 1, 4: 1, 5: 1}, ["background", "vertebrae"]),  # mids-lumbar L1..L5
}


def parse_label_map(text: str) -> tuple[dict[int, int], list[str]]:
    """ "vertebrae" or "1-5:1,6:2" (source label or range -> class; names class_0..)."""
    if text in LABEL_MAPS:
        return LABEL_MAPS[text]
    mapping: dict[int, int] = {}
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)(?:-(\d+))?:(\d+)\s*", part)
        if not match:
            raise ValueError(
                f"bad --label-map entry {part!r}: use a name ({', '.join(LABEL_MAPS)}) or 'A-B:C,D:E'"
            )
        low, high, target = int(match[1]), int(match[2] or match[1]), int(match[3])
        mapping.update({v: target for v in range(low, high + 1)})
    return mapping, [f"class_{i}" for i in range(max(mapping.values()) + 1)]


def apply_label_map(mask: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    """(H, W) source labels -> (H, W) int64 classes; labels not in mapping -> 0; negative values
    (IGNORE_INDEX, truth unknown) stay as they are."""
    arr = mask.astype(np.int64)
    lut = np.zeros(max(int(arr.max()), max(mapping)) + 1, dtype=np.int64)
    for source, target in mapping.items():
        lut[source] = target
    return np.where(arr < 0, arr, lut[np.maximum(arr, 0)])


def phantom_samples(n_subjects: int, n_slices: int, size: int, channels: int, seed: int) -> list[Sample]:
    """N phantom subjects (12-class masks), z-scored per volume; 1 channel = T2w, 2 = T2w + T1w."""
    if channels not in (1, 2):
        raise ValueError(f"phantom data has channels T2w and T1w, {channels} requested")
    samples = []
    for i in range(n_subjects):
        subject = generate_subject(seed * 1000 + i, n_slices, (size, size), subject_id=f"P{i + 1:04d}")
        spacing = (subject.pixel_mm, subject.pixel_mm)
        volumes = [subject.t2, subject.t1][:channels]
        normed = [zscore(v, *zscore_stats(v)) for v in volumes]
        for j in range(n_slices):
            image = np.stack([v[j] for v in normed]).astype(np.float32)  # (C, H, W)
            samples.append(
                Sample(
                    id=f"{subject.subject_id}-{j:02d}",
                    subject=subject.subject_id,
                    image=image,
                    mask=subject.masks[j].astype(np.int64),
                    spacing=spacing,
                    index=j,
                )
            )
    return samples


def middle_slices(samples: list[Sample], n: int) -> list[Sample]:
    """Keep the n middle slices of each subject (in load order), e.g. around the mid-sagittal plane."""
    by_subject: dict[str, list[Sample]] = {}
    for s in samples:
        by_subject.setdefault(s.subject, []).append(s)
    kept = []
    for group in by_subject.values():
        start = max(0, (len(group) - n) // 2)
        kept += group[start : start + n]
    return kept


def load_samples(args: argparse.Namespace) -> tuple[list[Sample], list[str]]:
    """Samples and class names from the data options."""
    names: list[str] = [c.strip() for c in (args.classes or "").split(",") if c.strip()]
    if args.phantom:
        channels = _channel_names(args)
        samples = phantom_samples(args.phantom, args.phantom_slices, args.size, len(channels), args.seed)
        names = list(LUMBAR_CLASSES)
    elif args.data:
        mapping = None
        if args.label_map:
            mapping, mapped_names = parse_label_map(args.label_map)
            names = names or mapped_names
        mask_desc = args.mask_desc or ("vertebrae" if args.label_map == "vertebrae" else None)
        samples = []
        for folder in args.data:
            found = load_folder(
                folder,
                channels=_channel_names(args),
                mask_desc=mask_desc,
                labelled_only=args.labelled_only,
                class_names=(names or None) if mapping is None else None,
                partial_extent=args.partial_extent,
            )
            site = Path(folder).name
            for s in found:
                s.site = site
                if mapping is not None and s.mask is not None:
                    s.mask = apply_label_map(np.asarray(s.mask), mapping)
            samples += found
    else:
        raise SystemExit("give a data folder or --phantom N")
    if args.middle:
        samples = middle_slices(samples, args.middle)
    samples = [s for s in samples if s.mask is not None] if args.command != "predict" else samples
    if not samples:
        raise SystemExit("no slices found")
    if not names:
        top = (
            max(int(np.max(s.mask)) for s in samples if s.mask is not None)
            if args.command != "predict"
            else 1
        )
        names = [f"class_{i}" for i in range(top + 1)]
    counts = {int(np.shape(s.image)[0]) for s in samples}
    if len(counts) != 1:
        raise SystemExit(f"slices have different channel counts {sorted(counts)}")
    return samples, names


def _channel_names(args: argparse.Namespace) -> list[str]:
    return [c.strip() for c in args.channels.split(",") if c.strip()]


def make_config(args: argparse.Namespace, samples: list[Sample], names: list[str]) -> Any:
    from mlcore.train import TrainConfig

    overrides: dict[str, Any] = {}
    if args.filters:
        overrides["filters"] = args.filters
    if args.norm != "batch":
        overrides["norm"] = args.norm
    return TrainConfig(
        arch=args.arch,
        in_channels=int(np.shape(samples[0].image)[0]),
        num_classes=len(names),
        class_names=names,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size,
        optimiser=args.optimiser,
        lr=args.lr,
        lr_schedule=args.schedule,
        loss=args.loss,
        patch_size=args.patch_size,
        min_spacing=args.min_spacing,
        max_patch=args.max_patch,
        augment=not args.no_augment,
        augmentation=args.augmentation,
        fg_fraction=args.fg_fraction,
        sampling=args.sampling,
        channels=_channel_names(args),
        label_map=parse_label_map(args.label_map)[0] if args.label_map else None,
        val_every=args.val_every,
        seed=args.seed,
        device=args.device,
        model_overrides=overrides,
    )


def print_progress(info: dict[str, Any]) -> None:
    if info["step"] == info["steps"]:
        print(
            f"fold {info['fold']} epoch {info['epoch']}/{info['epochs']} loss {info['loss']:.4f} "
            f"eta {info['eta_seconds']:.0f}s",
            file=sys.stderr,
            flush=True,
        )


def subjects_of(samples: list[Sample]) -> list[str]:
    return sorted({s.subject for s in samples})


def _extra(samples: list[Sample], split: Any = None, fold: Any = None) -> dict[str, Any]:
    return {"subjects": subjects_of(samples), "split": {"folds": split, "fold": fold}}


def cmd_train(args: argparse.Namespace) -> int:
    """Train one model: on every labelled subject (the default: a final model, no validation) or,
    with --fold K, on all folds but K, scored on K."""
    from mlcore.checkpoint import save_checkpoint
    from mlcore.train import split_by_subjects, train_fold

    samples, names = load_samples(args)
    cfg = make_config(args, samples, names)
    split = None
    train, val = samples, list[Sample]()
    if args.fold is not None:
        split = kfold.patient_kfold(subjects_of(samples), k=args.folds, seed=args.seed)
        if not 0 <= args.fold < len(split):
            raise ValueError(f"--fold {args.fold} is not one of the {len(split)} folds")
        train, val = split_by_subjects(samples, split[args.fold])
    result = train_fold(cfg, train, val, progress=print_progress, fold=args.fold or 0)
    out = Path(args.out)
    path = save_checkpoint(
        out / "model.pt",
        result.state_dict,
        result.config,
        {**_extra(train, split, args.fold), "iou": result.iou, "history": result.history},
    )
    plan = result.config.get_plan()
    assert plan is not None
    print(
        f"plan: {plan.target_spacing} mm, patch {plan.patch_size}; {len(train)} slices, {result.seconds:.0f}s"
    )
    if val:
        ious = ", ".join(
            f"{n} {v * 100:.1f}" for n, v in zip(names, result.iou, strict=True) if np.isfinite(v)
        )
        mean = metrics.mean_iou(result.confusion, include_background=False) * 100
        print(f"fold {args.fold} (final weights): IoU {ious}; mean IoU (no bg) {mean:.1f}")
    print(f"saved {path}")
    return 0


def cmd_cv(args: argparse.Namespace) -> int:
    from mlcore.checkpoint import save_checkpoint
    from mlcore.train import cross_validate

    samples, names = load_samples(args)
    cfg = make_config(args, samples, names)
    split = kfold.patient_kfold(subjects_of(samples), k=args.folds, seed=args.seed)
    started = time.perf_counter()
    result = cross_validate(cfg, samples, split, progress=print_progress)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.save_models:
        for i, fold in enumerate(result.folds):
            save_checkpoint(
                out / f"fold{i}.pt",
                fold.state_dict,
                fold.config,
                {**_extra(samples, split, i), "iou": fold.iou},
            )
    payload = dict(
        report=result.report,
        config=result.folds[0].config.to_dict() if result.folds[0].config else cfg.to_dict(),
        folds=split,
        slices=len(samples),
        seconds=time.perf_counter() - started,
        fold_results=[
            dict(
                seconds=f.seconds,
                history=f.history,
                confusion=f.confusion.tolist(),
                postprocessed={k: v.tolist() for k, v in f.postprocessed.items()},
            )
            for f in result.folds
        ],
    )
    (out / "cv.json").write_text(json.dumps(payload, indent=1, default=_json_default))
    print(metrics.format_report(result.report))
    decision = result.report.get("postprocess")
    if decision and "largest_foreground" in decision["mean_iou_fg"]:
        raw, post = (decision["mean_iou_fg"][k] for k in ("none", "largest_foreground"))
        print(
            f"post-processing: {decision['chosen']} (mean IoU without background {100 * (raw or 0):.1f} % raw, "
            f"{100 * (post or 0):.1f} % keeping the largest foreground component per volume; chosen on these "
            "folds, applied by predict)"
        )
    print(
        f"{len(samples)} slices, {len(split)} folds, final weights of each fold (no epoch picked on its "
        f"validation fold), {payload['seconds']:.0f}s; wrote {out / 'cv.json'}"
    )
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def cmd_predict(args: argparse.Namespace) -> int:
    """Label maps for NIfTI files, MIDS trees or PNG folders with one checkpoint or a fold ensemble:
    a PNG per slice (pixel = class index) and, for NIfTI inputs, a *_dseg.nii.gz on the input's own
    grid and affine with a JSON label table beside it."""
    from mlcore.inference import load_ensemble, predict_inputs

    ensemble = load_ensemble(args.checkpoint, tta=args.tta, adapt_bn=args.adapt_bn)
    out = Path(args.out)
    written = predict_inputs(
        ensemble, [Path(p) for p in args.inputs], out, tta=args.tta, adapt_bn=args.adapt_bn
    )
    print(f"wrote {written['png']} PNG label maps and {written['nifti']} NIfTI volumes to {out}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from mlcore.simulate import format_curves, simulate

    samples, names = load_samples(args)
    cfg = make_config(args, samples, names)
    split = kfold.patient_kfold(subjects_of(samples), k=args.folds, seed=0)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    seeds = [int(s) for s in args.seeds.split(",")]
    result = simulate(
        cfg,
        samples,
        split[0],
        strategies,
        seeds,
        args.initial,
        args.batch,
        args.rounds,
        mc_samples=args.mc_samples,
        diversity=not args.no_diversity,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    result["command"] = "python -m mlcore " + " ".join(sys.argv[1:])  # to reproduce the curves
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=_json_default))
    print(format_curves(result))
    print(f"mean IoU without background over {len(seeds)} seed(s); wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from mlcore.active import STRATEGIES
    from mlcore.models import list_models

    parser = argparse.ArgumentParser(
        prog="python -m mlcore", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    data = argparse.ArgumentParser(add_help=False)
    g = data.add_argument_group("data")
    g.add_argument("data", nargs="*", help="MIDS trees or images/+masks/ folders (each folder is a site)")
    g.add_argument("--phantom", type=int, default=0, metavar="N", help="use N synthetic phantom subjects")
    g.add_argument("--phantom-slices", type=int, default=5, help="slices per phantom subject")
    g.add_argument("--size", type=int, default=64, help="phantom slice size (pixels)")
    g.add_argument("--channels", default="T2w", help="input channels, e.g. T2w or T2w,T1w")
    g.add_argument(
        "--classes",
        help="class names, e.g. 'background,vertebrae,intervertebral discs': masks are mapped through the "
        "label tables beside them (instance labels such as 'vertebra instance 7' onto one class)",
    )
    g.add_argument("--label-map", help="'vertebrae' (mids-lumbar L1..L5 -> 1) or 'A-B:C,D:E'; others -> 0")
    g.add_argument("--partial-extent", action="store_true", help="rows above the highest label are unknown")
    g.add_argument("--mask-desc", help="which MIDS mask (desc-<X>_dseg) to use, e.g. vertebrae")
    g.add_argument("--labelled-only", action="store_true", help="drop slices with an empty mask")
    g.add_argument("--middle", type=int, default=0, metavar="N", help="keep N middle slices per subject")
    g.add_argument("--seed", type=int, default=0)
    model = argparse.ArgumentParser(add_help=False)
    m = model.add_argument_group("training (the recipe, see docs/mlcore.md)")
    m.add_argument("--arch", default="UD", choices=list_models())
    m.add_argument("--filters", type=int, default=0, help="initial filters (0 = the paper's)")
    m.add_argument(
        "--norm",
        default="batch",
        choices=("batch", "instance"),
        help="normalisation layers: batch (the paper's) or instance (each image by its own statistics)",
    )
    m.add_argument("--epochs", type=int, default=10)
    m.add_argument("--steps-per-epoch", type=int, default=250, help="optimiser steps per epoch")
    m.add_argument("--batch-size", type=int, default=8)
    m.add_argument(
        "--optimiser",
        default="AdamW",
        choices=("AdamW", "SGD", "paper"),
        help="AdamW (default); SGD is nnU-Net's (Nesterov momentum 0.99), 0.8 points of vertebra IoU lower "
        "within a site on real MRI at 2,400 steps (three seeds, bench/RESULTS.md); paper: each network's own",
    )
    m.add_argument(
        "--lr",
        type=float,
        default=None,
        help="default: 3e-3 AdamW, 1e-2 SGD, the paper's (AdamW at 1e-3 and at 1e-2 against 3e-3 within a site on real "
        "MRI at 2,400 steps: bench/RESULTS.md)",
    )
    m.add_argument("--schedule", default="poly", choices=("poly", "cosine", "constant"))
    m.add_argument("--loss", default="dice_ce", choices=("ce", "dice_ce"))
    m.add_argument("--patch-size", type=int, default=None, help="square patch (default: the plan's)")
    m.add_argument(
        "--min-spacing", type=float, default=None, help="mm: a plan coarser than the median spacing"
    )
    m.add_argument("--max-patch", type=int, default=256, help="cap of the plan's patch side")
    m.add_argument("--fg-fraction", type=float, default=0.5, help="share of foreground-centred patches")
    m.add_argument(
        "--sampling",
        default="slice",
        help="which slices a batch draws from: slice (every labelled slice alike), subject (a subject, "
        "then a slice) or site (a site, then a slice)",
    )
    m.add_argument("--no-augment", action="store_true")
    m.add_argument(
        "--augmentation",
        default="nnunet",
        choices=[name for name in AUGMENTATIONS if name != "none"],  # none: --no-augment
        help="nnunet: the recipe's (no mirroring); multisite: nnunet + random intensity curves, for "
        "models that must work on other scanners' and sequences' images; paper: the paper's warp with "
        "mirroring, no intensity",
    )
    m.add_argument("--val-every", type=int, default=0, help="validate every N epochs (0: at the end)")
    m.add_argument("--device", default="auto", help="auto | cpu | cuda")
    m.add_argument("--folds", type=int, default=5, help="patient-level folds")

    p = sub.add_parser(
        "train", parents=[data, model], help="train on every subject (or all folds but --fold)"
    )
    p.add_argument("--fold", type=int, default=None, help="validate on this fold instead of using all data")
    p.add_argument("--out", default="runs/train")
    p = sub.add_parser(
        "cv", parents=[data, model], help="k-fold CV, print the paper-style table, write cv.json"
    )
    p.add_argument("--out", default="runs/cv")
    p.add_argument("--save-models", action="store_true", help="also write fold<i>.pt")
    p = sub.add_parser("predict", help="label maps (PNG, and NIfTI for NIfTI inputs) from checkpoints")
    p.add_argument("inputs", nargs="+", help="NIfTI files, MIDS trees or images/ PNG folders")
    p.add_argument("--checkpoint", action="append", required=True, help="repeat for a fold ensemble")
    p.add_argument(
        "--tta",
        action="store_true",
        help="average with the anterior-posterior flip; only for models trained with mirroring (e.g. "
        "--augmentation paper): a checkpoint of the default recipe, which does not mirror, is refused",
    )
    p.add_argument(
        "--adapt-bn",
        action="store_true",
        help="re-estimate the models' BatchNorm statistics on each input scan (a PNG folder: its slices "
        "together) before labelling it (AdaBN): for scanners or sites none of the training data came from "
        "(left out: VB3 +6.7 to +9.9 points of vertebra IoU on four seeds; VB1 and VB2, wide fields of view, "
        "-5.0 to +1.5, VB2 down on all four uniform-slice models measured); not for sites the models were trained on (-0.6 "
        "on average there; bench/RESULTS.md, sessions 54 and 60)",
    )
    p.add_argument("--out", default="runs/predict")
    p = sub.add_parser("simulate", parents=[data, model], help="active-learning simulation with an oracle")
    p.add_argument(
        "--strategies", default="random,entropy,bald", help=f"comma list of {', '.join(STRATEGIES)}"
    )
    p.add_argument("--seeds", default="0", help="comma list; strategies share them")
    p.add_argument("--initial", type=int, default=4, help="labelled slices at round 0")
    p.add_argument("--batch", type=int, default=4, help="slices added per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--mc-samples", type=int, default=4, help="MC-dropout passes for bald")
    p.add_argument("--no-diversity", action="store_true", help="rank by score only (no k-center step)")
    p.add_argument("--out", default="runs/simulate.json")
    return parser


COMMANDS = {"train": cmd_train, "cv": cmd_cv, "predict": cmd_predict, "simulate": cmd_simulate}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
