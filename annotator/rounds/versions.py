"""Model versions: registering a round's architectures, the promotion gate and promotions (exactly
one live version per project; every change recorded as a Promotion).

Where the best model of a round is promoted: `apply_gate` (called by the round's finalize step)
decides with `gate_decision` and promotes with `promote_model`. Checkpoint storage is
annotator.rounds.checkpoints; the CV summary is mlcore.metrics.cv_summary.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from annotator.errors import Forbidden, InvalidInput, NotFound
from annotator.models import ModelVersion, Project, Promotion, TrainingRound
from annotator.services import access
from annotator.users import Viewer, signed_in
from mlcore import postprocess
from mlcore.metrics import cv_summary, iou_per_class, mean_iou


def summarise(fold_ious: list[list[float | None]], class_names: list[str]) -> dict[str, Any]:
    """The CV summary of per-fold, per-class IoUs (None = class absent): mlcore.metrics.cv_summary,
    with `mean_iou_fg` (without background) and `mean_iou_all` (with background)."""
    return cv_summary(fold_ious, class_names)


def iou_from_confusion(confusion: list[list[int]]) -> list[float | None]:
    return [
        float(v) if np.isfinite(v) else None for v in iou_per_class(np.asarray(confusion, dtype=np.int64))
    ]


# --- versions -----------------------------------------------------------------------------------
def register_version(
    rnd: TrainingRound, arch: str, fold_results: list[dict[str, Any]], final_weights: str | None = None
) -> ModelVersion:
    """Create (or return) the ModelVersion of one architecture of a round once every fold's
    weights exist in storage; never a version with missing weights. `weights` stay the fold models
    (the promotion gate scores them on their own folds); `config["final_weights"]`, when the round
    trained one, is the model on every subject that pre-labels while the version is live."""
    label = f"r{rnd.number}-{arch}"
    existing = ModelVersion.objects.filter(project=rnd.project, label=label).first()
    if existing is not None:
        return existing
    weights = [r["weights"] for r in fold_results]
    missing = [
        w for w in [*weights, *([final_weights] if final_weights else [])] if not default_storage.exists(w)
    ]
    if missing:
        raise InvalidInput(f"{label}: fold weights missing in storage: {missing}")
    class_names = rnd.project.class_names()
    fold_iou = [r["iou"] for r in fold_results]
    summary = summarise(fold_iou, class_names)
    # The post-processing its pre-labels get, chosen on this CV (mlcore.postprocess.decide); the
    # summary's own figures stay those of the raw predictions.
    decision = postprocess.decide([r.get("postprocessed") or {} for r in fold_results], class_names)
    summary["postprocess"] = decision
    return ModelVersion.objects.create(
        project=rnd.project,
        training_round=rnd,
        label=label,
        architecture=arch,
        config={
            **fold_results[0].get("config", {}),
            **({"final_weights": final_weights} if final_weights else {}),
            "postprocess": decision["chosen"],
        },
        revision_ids=list(rnd.revision_ids),
        fold_iou=fold_iou,
        report=summary,
        mean_iou=summary["mean_iou_fg"]["mean"],
        mean_iou_bg=summary["mean_iou_all"]["mean"],
        weights=weights,
    )


def live_version(project: Project) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project, status=ModelVersion.Status.LIVE).first()


def promote_model(
    version: ModelVersion,
    *,
    user: Viewer | None = None,
    reason: str = Promotion.Reason.MANUAL,
    note: str = "",
    details: dict[str, Any] | None = None,
) -> Promotion:
    """Make `version` the project's live model (the previous live one is retired) and record it.

    A manual call needs ML staff; promoting an older version than the live one is a rollback."""
    if reason != Promotion.Reason.GATE and (user is None or not access.can_train(user)):
        raise Forbidden("only ML staff can promote or roll back a model")
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
        if locked is None:
            raise NotFound(f"model version {version.pk} does not exist")
        previous = (
            ModelVersion.objects.select_for_update()
            .filter(project=locked.project, status=ModelVersion.Status.LIVE)
            .first()
        )
        if previous is not None and previous.pk == locked.pk:
            raise InvalidInput(f"model {locked.label} is already live")
        if reason == Promotion.Reason.MANUAL and previous is not None and locked.pk < previous.pk:
            reason = Promotion.Reason.ROLLBACK
        if previous is not None:
            ModelVersion.objects.filter(pk=previous.pk).update(status=ModelVersion.Status.RETIRED)
        ModelVersion.objects.filter(pk=locked.pk).update(status=ModelVersion.Status.LIVE)
        return Promotion.objects.create(
            project=locked.project,
            version=locked,
            previous=previous,
            reason=reason,
            note=note,
            details=details or {},
            created_by=signed_in(user) if getattr(user, "is_authenticated", False) else None,
        )


# --- the promotion gate -------------------------------------------------------------------------
def quality_problem(confusions: list[list[list[int]]], floor: float) -> str | None:
    """Why a candidate is worse than a trivial prediction, or None. Pure. (A floor of 0 turns the
    check off: the caller skips it.)

    confusions: the candidate's validation confusion per fold (K x K). Refused when its pooled mean
    foreground IoU is below `floor`, or when its background IoU is below the background's share of
    the pixels (what predicting background everywhere would score)."""
    pooled = np.sum([np.asarray(c, dtype=np.int64) for c in confusions], axis=0)
    if pooled.ndim != 2 or pooled.sum() == 0:
        return "it has no validation pixels to judge it by"
    fg = mean_iou(pooled, include_background=False)
    if not np.isfinite(fg) or fg < floor:
        shown = "none" if not np.isfinite(fg) else f"{fg * 100:.1f} %"
        return f"its mean foreground IoU ({shown}) is below the quality floor of {floor * 100:.0f} %"
    share = pooled[0].sum() / pooled.sum()
    bg = iou_per_class(pooled)[0]
    if np.isfinite(bg) and bg < share:
        return (
            f"its background IoU ({bg * 100:.1f} %) is below what predicting background everywhere "
            f"scores ({share * 100:.1f} %)"
        )
    return None


def gate_decision(
    candidates: list[ModelVersion],
    live: ModelVersion | None,
    baseline: ModelVersion | None,
    baseline_fold_ious: list[list[float | None]] | None,
    class_names: list[str],
    problems: dict[int, str] | None = None,
) -> dict[str, Any]:
    """Pure decision: promote the best candidate by mean CV IoU (without background) that passes the
    quality floor (`problems`: version pk -> why it is worse than trivial) only if it beats the live
    model evaluated on the same validation folds. Returns {promote, best, reason, ...}."""
    problems = problems or {}
    scored = [v for v in candidates if v.mean_iou is not None]
    if not scored:
        return {"promote": False, "best": None, "reason": "no architecture finished training"}
    refused = {v.label: problems[v.pk] for v in scored if v.pk in problems}
    passing = [v for v in scored if v.pk not in problems]
    if not passing:
        top = max(scored, key=lambda v: (v.mean_iou, -v.pk))
        return {
            "promote": False,
            "best": top.pk,
            "best_label": top.label,
            "best_mean_iou": top.mean_iou,
            "refused": refused,
            "reason": f"not promoted automatically: {top.label} is worse than a trivial prediction ("
            + problems[top.pk]
            + "); ML staff may still promote it by hand",
        }
    best = max(passing, key=lambda v: (v.mean_iou, -v.pk))
    out: dict[str, Any] = {"best": best.pk, "best_label": best.label, "best_mean_iou": best.mean_iou}
    if refused:
        out["refused"] = refused
    if live is None:
        return {**out, "promote": True, "reason": "no live model yet"}
    out["live"] = live.pk
    if baseline is None or live.pk != baseline.pk:
        return {
            **out,
            "promote": False,
            "reason": "the live model changed during the round; compare and promote manually",
        }
    if not baseline_fold_ious:
        return {
            **out,
            "promote": False,
            "reason": "the live model could not be evaluated on this round's folds",
        }
    live_score = summarise(baseline_fold_ious, class_names)["mean_iou_fg"]["mean"]
    out["live_mean_iou"] = live_score
    if live_score is None or best.mean_iou > live_score:
        return {
            **out,
            "promote": True,
            "reason": f"{best.label} {best.mean_iou:.4f} beats live {live.label} "
            f"{(live_score or 0):.4f} on the same folds",
        }
    return {
        **out,
        "promote": False,
        "reason": f"{best.label} {best.mean_iou:.4f} does not beat live {live.label} "
        f"{live_score:.4f} on the same folds",
    }


def apply_gate(
    rnd: TrainingRound,
    versions: list[ModelVersion],
    confusions: dict[int, list[list[list[int]]]],
    baseline_ious: dict[int, list[float | None]],
) -> dict[str, Any]:
    """The end of a round: judge its new versions against the quality floor and the live model on
    the same folds, and promote the winner when the gate says so. Returns the stored decision.

    confusions: version pk -> its validation confusion per fold; baseline_ious: fold -> the live
    model's per-class IoU on that fold (complete only when every fold evaluated it)."""
    class_names = rnd.project.class_names()
    live = live_version(rnd.project)
    fold_ious = (
        [baseline_ious[f] for f in sorted(baseline_ious)] if len(baseline_ious) == len(rnd.folds) else None
    )
    chosen = rnd.config.get("promotion_floor")
    floor = float(settings.SPINELAB["PROMOTION_FLOOR"] if chosen is None else chosen)
    problems = {}
    for version in versions:
        problem = quality_problem(confusions.get(version.pk, []), floor) if floor > 0 else None
        if problem:
            problems[version.pk] = problem
    gate = gate_decision(versions, live, rnd.baseline, fold_ious, class_names, problems)
    if fold_ious:
        gate["live_report"] = summarise(fold_ious, class_names)
    if gate["promote"]:
        best = ModelVersion.objects.get(pk=gate["best"])
        promote_model(best, reason=Promotion.Reason.GATE, note=gate["reason"], details=gate)
    return gate
