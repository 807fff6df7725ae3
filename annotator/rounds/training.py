"""The work of a round's jobs: one (architecture, fold) training job, and the finalize step
(register versions, the promotion gate of annotator.rounds.versions, then pre-label + rank)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import timezone

from annotator.models import Job, ModelVersion, TrainingRound
from annotator.rounds import checkpoints, lifecycle, versions
from annotator.rounds.data import load_samples
from annotator.rounds.options import ALL_SUBJECTS
from annotator.services import jobs
from annotator.services.projects import channel_names
from mlcore.lesions import merge_summaries


def train_config(rnd: TrainingRound, arch: str) -> Any:
    """The mlcore TrainConfig of one architecture of a round (the recipe's options from the launch;
    rounds launched before the recipe existed get its defaults)."""
    from mlcore.train import TrainConfig

    opts = rnd.config
    class_names = rnd.project.class_names()
    channels = channel_names(opts["channels"])
    overrides = {"filters": opts["filters"]} if opts.get("filters") else {}
    return TrainConfig(
        arch=arch,
        in_channels=len(channels),
        num_classes=len(class_names),
        class_names=class_names,
        epochs=opts["epochs"],
        steps_per_epoch=opts.get("steps_per_epoch", 250),
        batch_size=opts["batch_size"],
        optimiser=opts.get("optimiser", "AdamW"),
        lr=opts.get("lr"),
        loss=opts["loss"],
        patch_size=opts.get("patch_size"),
        min_spacing=opts.get("min_spacing"),
        augment=opts["augment"],
        augmentation=opts.get("augmentation", "nnunet"),
        channels=channels,
        seed=opts["seed"],
        device=settings.SPINELAB["TRAINING_DEVICE"],
        model_overrides=overrides,
    )


class ProgressReporter:
    """Turns mlcore progress dicts into Job progress/message/result, at most ~2 writes per second,
    and keeps the round's Job alive (heartbeat) while its children work."""

    def __init__(self, job: Job, interval: float = 0.5) -> None:
        self.job, self.interval, self.last = job, interval, 0.0

    def __call__(self, info: dict[str, Any]) -> None:
        now = time.monotonic()
        last_step = info["step"] == info["steps"]
        if now - self.last < self.interval and not last_step:
            return
        self.last = now
        done = (info["epoch"] - 1) * info["steps"] + info["step"]
        eta = info.get("eta_seconds") or 0.0
        message = (
            f"epoch {info['epoch']}/{info['epochs']} step {info['step']}/{info['steps']} "
            f"loss {info['loss']:.4f} ETA {eta:.0f} s"
        )
        if self.job.parent_id:
            Job.objects.filter(pk=self.job.parent_id).update(heartbeat_at=timezone.now())
        jobs.report_progress(
            self.job.pk,
            0.95 * done / (info["epochs"] * info["steps"]),
            message,
            epoch=info["epoch"],
            epochs=info["epochs"],
            loss=float(info["loss"]),
            eta_seconds=float(eta),
        )

    def should_stop(self) -> bool:
        return Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()


def train_fold_work(job: Job) -> dict[str, Any]:
    """Train one (architecture, fold) of a round; write its checkpoint atomically; return metrics."""
    from mlcore.train import (
        TrainingStopped,
        evaluate_models,
        plan_for,
        split_by_subjects,
        train_fold,
        with_plan,
    )

    rnd = TrainingRound.objects.select_related("project").get(pk=job.params["round"])
    arch, fold = job.params["arch"], int(job.params["fold"])
    cfg = train_config(rnd, arch)
    jobs.report_progress(job.pk, 0.0, f"{arch} fold {fold}: loading {rnd.num_slices} slices")
    samples = load_samples(rnd.revision_ids, channel_names(rnd.config["channels"]))
    # One plan for the whole round (fitted on all its slices, like nnU-Net's data set fingerprint), so
    # every fold, and so the fold ensemble, presents slices the same way.
    cfg = with_plan(cfg, plan_for(cfg, samples))
    final = fold == ALL_SUBJECTS
    train, val = (samples, []) if final else split_by_subjects(samples, rnd.folds[fold])
    reporter = ProgressReporter(job)
    try:
        result = train_fold(
            cfg,
            train,
            val,
            progress=reporter,
            should_stop=reporter.should_stop,
            fold=len(rnd.folds) if final else fold,
        )
    except TrainingStopped as exc:
        raise jobs.JobCancelled(str(exc)) from exc
    jobs.report_progress(job.pk, 0.96, f"{arch} fold {fold}: saving weights")
    name = checkpoints.weights_name(rnd.project, f"r{rnd.number}-{arch}", "all" if final else fold)
    extra = {
        "round": rnd.pk,
        "fold": fold,
        "val_subjects": [] if final else rnd.folds[fold],
        "channels": rnd.config["channels"],
        "norm": "per-series z-score (Series.metadata['norm'])",
        "revision_ids": rnd.revision_ids,
    }
    cfg = result.config or cfg
    checkpoints.write_checkpoint(name, result.state_dict, cfg, extra)
    out: dict[str, Any] = {
        "arch": arch,
        "fold": fold,
        "weights": name,
        "config": cfg.to_dict(),
        "confusion": np.asarray(result.confusion).tolist(),
        # Under each post-processing, for the version's CV choice (mlcore.postprocess.decide).
        "postprocessed": {name: np.asarray(cm).tolist() for name, cm in result.postprocessed.items()},
        "iou": [None if not np.isfinite(v) else float(v) for v in result.iou],
        "history": result.history,
        "seconds": result.seconds,
        "best_epoch": result.best_epoch,
        "train_slices": len(train),
        "val_slices": len(val),
    }
    lesion_classes = list(rnd.project.classes.filter(is_lesion=True).values_list("index", flat=True))
    if lesion_classes and val:
        # Per-lesion detection on the validation slices (mlcore.lesions), next to the pixel IoU.
        from mlcore.lesion_eval import evaluate_lesions

        jobs.report_progress(job.pk, 0.97, f"{arch} fold {fold}: lesion metrics")
        trained, trained_cfg, _ = checkpoints.read_model(name)
        out["lesions"] = evaluate_lesions(trained, val, trained_cfg, lesion_classes)
    baseline = rnd.baseline
    if not final and baseline is not None and len(baseline.weights) == len(rnd.folds):
        # Promotion gate data: the live model's model of this fold never saw these validation
        # subjects (folds are stable), so its score here is comparable to the new candidates'.
        jobs.report_progress(job.pk, 0.98, f"{arch} fold {fold}: evaluating live model {baseline.label}")
        model, base_cfg, _ = checkpoints.read_model(baseline.weights[fold])
        if base_cfg.in_channels == cfg.in_channels and base_cfg.plan:
            confusion = evaluate_models(model, val, base_cfg)
            out["baseline"] = {"version": baseline.pk, "iou": versions.iou_from_confusion(confusion.tolist())}
    return out


def finalize_work(job: Job) -> dict[str, Any]:
    """Register a version per architecture whose folds all succeeded, run the promotion gate and
    queue pre-labelling with the live model."""
    rnd = TrainingRound.objects.select_related("project", "job", "baseline").get(pk=job.params["round"])
    if Job.objects.filter(pk=rnd.job_id, cancel_requested=True).exists():
        lifecycle.finish_round(rnd, Job.State.CANCELLED, "cancelled")
        return {"cancelled": True}
    children = Job.objects.filter(parent=rnd.job_id, kind=Job.Kind.TRAIN_FOLD)
    report: dict[str, Any] = {}
    registered: list[ModelVersion] = []
    confusions: dict[int, list[Any]] = {}
    baseline_ious: dict[int, list] = {}
    for arch in rnd.config["architectures"]:
        arch_jobs = sorted(children.filter(params__arch=arch), key=lambda j: j.params["fold"])
        final_job = next((j for j in arch_jobs if j.params["fold"] == ALL_SUBJECTS), None)
        fold_jobs = [j for j in arch_jobs if j is not final_job]
        bad = [j for j in arch_jobs if j.state != Job.State.SUCCEEDED]
        for j in fold_jobs:
            if j.state == Job.State.SUCCEEDED and "baseline" in j.result:
                baseline_ious.setdefault(j.params["fold"], j.result["baseline"]["iou"])
        if bad or not fold_jobs:
            report[arch] = {
                "error": "; ".join(f"fold {j.params['fold']} {j.state}: {j.message}" for j in bad)
            }
            continue
        version = versions.register_version(
            rnd,
            arch,
            [j.result for j in fold_jobs],
            final_weights=final_job.result["weights"] if final_job else None,
        )
        lesions = [j.result["lesions"] for j in fold_jobs if j.result.get("lesions")]
        if lesions:  # lesion classes: all folds' validation slices together (mlcore.lesions)
            version.report = {**version.report, "lesions": merge_summaries(lesions)}
            version.save(update_fields=["report"])
        registered.append(version)
        confusions[version.pk] = [j.result["confusion"] for j in fold_jobs if j.result.get("confusion")]
        report[arch] = {**version.report, "version": version.pk, "label": version.label}
    gate = versions.apply_gate(rnd, registered, confusions, baseline_ious)
    TrainingRound.objects.filter(pk=rnd.pk).update(report=report, gate=gate)
    live = versions.live_version(rnd.project)
    if live is None and registered:
        # Trained, but nothing good enough to go live: the round ends, saying why; ML staff may promote by hand.
        lifecycle.finish_round(
            rnd, Job.State.SUCCEEDED, f"no live model to pre-label with: {gate['reason']}"[:480]
        )
        return {"versions": [v.pk for v in registered], "gate": gate}
    if live is None:
        lifecycle.finish_round(
            rnd,
            Job.State.FAILED,
            "no architecture finished training: "
            + "; ".join(f"{a}: {r.get('error', '')}" for a, r in report.items())[:450],
        )
        return {"versions": [], "gate": gate}
    prelabel = lifecycle.enqueue_prelabel(
        live,
        strategy=rnd.config["strategy"],
        next_batch=rnd.config["next_batch"],
        seed=rnd.config["seed"],
        parent=rnd.job,
        round_id=rnd.pk,
    )
    Job.objects.filter(pk=rnd.job_id).update(
        message=f"pre-labelling with {live.label}", heartbeat_at=timezone.now()
    )
    return {"versions": [v.pk for v in registered], "gate": gate, "prelabel_job": prelabel.pk}
