"""Read models for the rounds dashboard: round summaries, the paper-style IoU table, learning curves,
promotions and imported simulation curves (plain dicts, JSON-ready). Figures that depend on the size
of the data set (correction effort) are read as stored by annotator.rounds.aggregates."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from annotator.errors import InvalidInput
from annotator.models import Job, ModelVersion, Project, Promotion, SimulationRun, TrainingRound
from annotator.rounds.effort import correction_effort
from annotator.rounds.versions import live_version
from annotator.services import access
from annotator.services.jobs import job_json
from annotator.users import Viewer, signed_in


def version_dict(v: ModelVersion) -> dict[str, Any]:
    return {
        "id": v.pk,
        "project": v.project_id,
        "round": v.training_round.number if v.training_round else None,
        "round_id": v.training_round_id,
        "label": v.label,
        "architecture": v.architecture,
        "status": v.status,
        "mean_iou": v.mean_iou,
        "mean_iou_bg": v.mean_iou_bg,
        "fold_iou": v.fold_iou,
        "report": v.report,
        "config": v.config,
        "revision_ids": v.revision_ids,
        "weights": v.weights,
        "created_at": v.created_at,
    }


def promotion_dict(p: Promotion) -> dict[str, Any]:
    return {
        "id": p.pk,
        "version": p.version_id,
        "label": p.version.label,
        "previous": p.previous.label if p.previous else None,
        "reason": p.reason,
        "note": p.note,
        "by": p.created_by.username if p.created_by else None,
        "at": p.created_at,
    }


def round_summary(rnd: TrainingRound) -> dict[str, Any]:
    children = list(Job.objects.filter(parent=rnd.job_id).order_by("id"))
    train = [j for j in children if j.kind == "train_fold"]
    # A succeeded job counts as done; a cancelled or failed one keeps the progress it had reached.
    done = [1.0 if j.state == Job.State.SUCCEEDED else j.progress for j in train]
    progress = sum(done) / len(done) if done else 0.0
    return {
        "id": rnd.pk,
        "project": rnd.project_id,
        "number": rnd.number,
        "job": rnd.job_id,
        "state": rnd.job.state,
        "message": rnd.job.message,
        "progress": round(progress, 4),
        "cancel_requested": rnd.job.cancel_requested,
        "config": rnd.config,
        "folds": rnd.folds,
        "num_slices": rnd.num_slices,
        "num_subjects": rnd.num_subjects,
        "revision_ids": rnd.revision_ids,
        "baseline": rnd.baseline_id,
        "gate": rnd.gate,
        "created_at": rnd.created_at,
        "finished_at": rnd.finished_at,
        "created_by": rnd.created_by.username if rnd.created_by else None,
        "versions": [version_dict(v) for v in rnd.versions.order_by("id")],
    }


def round_detail_for(rnd: TrainingRound, user: Viewer) -> dict[str, Any]:
    """A round with its jobs as `user` may see them: job tracebacks (`error`, with server paths) for
    ML staff and admins only. Read-only: lost workers' jobs are reaped and ended rounds finalized by
    the workers' job watch (annotator/tasks/watch.py), never by a read."""
    data = round_summary(rnd)
    show_error = access.sees_job_errors(user)
    data["jobs"] = [
        job_json(j, show_error=show_error) for j in Job.objects.filter(parent=rnd.job_id).order_by("id")
    ]
    return data


def iou_table(rnd: TrainingRound) -> dict[str, Any]:
    """The paper's layout: classes as rows, architectures as columns, mean +- std over folds, plus
    mean rows without and with background; `best` is the architecture with the top mean IoU."""
    class_names = rnd.project.class_names()
    archs = [a for a in rnd.config.get("architectures", []) if "classes" in rnd.report.get(a, {})]
    rows = [
        {"index": c, "class": name, "cells": {a: rnd.report[a]["classes"][c] for a in archs}}
        for c, name in enumerate(class_names)
    ]
    mean_rows = {key: {a: rnd.report[a][key] for a in archs} for key in ("mean_iou_fg", "mean_iou_all")}
    scored = [a for a in archs if rnd.report[a]["mean_iou_fg"]["mean"] is not None]
    best = max(scored, key=lambda a: rnd.report[a]["mean_iou_fg"]["mean"]) if scored else None
    errors = {a: r["error"] for a, r in rnd.report.items() if "error" in r}
    return {
        "round": rnd.number,
        "round_id": rnd.pk,
        "architectures": archs,
        "rows": rows,
        "mean_without_background": mean_rows["mean_iou_fg"],
        "mean_with_background": mean_rows["mean_iou_all"],
        "best": best,
        "errors": errors,
        "gate": rnd.gate,
        "num_slices": rnd.num_slices,
        "folds": len(rnd.folds),
        "lesions": lesion_rows(rnd, archs),
        # Per architecture, the post-processing its CV chose for pre-labels (mlcore.postprocess.decide).
        "postprocess": {a: rnd.report[a].get("postprocess") for a in archs},
    }


def lesion_rows(rnd: TrainingRound, archs: list[str]) -> list[dict[str, Any]]:
    """Per lesion class of the round's report: {class, cells: {arch: {lesions, detected, sensitivity,
    false_positives, fp_per_image, fp_per_volume, lesion_dice}}}; empty when the project declares no lesion class."""
    names = rnd.project.class_names()
    found: dict[str, dict[str, Any]] = {}
    for a in archs:
        for cls, cell in (rnd.report[a].get("lesions") or {}).get("classes", {}).items():
            found.setdefault(str(cls), {})[a] = cell
    return [
        {"index": int(c), "class": names[int(c)] if int(c) < len(names) else c, "cells": cells}
        for c, cells in sorted(found.items(), key=lambda kv: int(kv[0]))
    ]


def learning_curve(project: Project) -> list[dict[str, Any]]:
    """Per finished round: labelled slices and, per architecture, mean IoU and per-class means."""
    points = []
    for rnd in TrainingRound.objects.filter(project=project).order_by("number"):
        archs: dict[str, dict[str, Any]] = {
            v.architecture: {
                "mean_iou": v.mean_iou,
                "mean_iou_bg": v.mean_iou_bg,
                "classes": [c["mean"] for c in v.report.get("classes", [])],
                "version": v.pk,
            }
            for v in rnd.versions.all()
        }
        if not archs:
            continue
        best = max(archs, key=lambda a: archs[a]["mean_iou"] if archs[a]["mean_iou"] is not None else -1)
        points.append({"round": rnd.number, "labelled": rnd.num_slices, "architectures": archs, "best": best})
    return points


def dashboard(project: Project) -> dict[str, Any]:
    live = live_version(project)
    return {
        "project": {
            "id": project.pk,
            "slug": project.slug,
            "name": project.name,
            "classes": project.class_names(),
        },
        "live": version_dict(live) if live else None,
        "rounds": [
            round_summary(r) for r in TrainingRound.objects.filter(project=project).order_by("-number")
        ],
        "tables": [
            iou_table(r)
            for r in TrainingRound.objects.filter(project=project).order_by("-number")
            if r.report
        ],
        "learning_curve": learning_curve(project),
        "effort": correction_effort(project),
        "promotions": [promotion_dict(p) for p in Promotion.objects.filter(project=project)[:50]],
        "simulations": [simulation_dict(s) for s in SimulationRun.objects.filter(project=project)[:20]],
    }


# --- simulations --------------------------------------------------------------------------------
def simulation_dict(s: SimulationRun) -> dict[str, Any]:
    return {
        "id": s.pk,
        "name": s.name,
        "curves": s.curves,
        "created_at": s.created_at,
        "config": {
            k: s.raw.get(k) for k in ("strategies", "seeds", "initial", "batch", "rounds", "pool_size")
        },
    }


def parse_curves(data: Any) -> dict[str, list[dict[str, Any]]]:
    """Validate `python -m mlcore simulate --out` JSON: {"curves": {strategy: [{labelled, mean_iou}]}}."""
    if not isinstance(data, dict) or not isinstance(data.get("curves"), dict) or not data["curves"]:
        raise InvalidInput(
            'a simulation file is a JSON object with "curves": {strategy: [points]} '
            "(the output of python -m mlcore simulate --out FILE)"
        )
    curves: dict[str, list[dict[str, Any]]] = {}
    for strategy, points in data["curves"].items():
        if not isinstance(points, list) or not points:
            raise InvalidInput(f"curve {strategy!r} must be a non-empty list of points")
        clean = []
        for n, point in enumerate(points):
            try:
                clean.append(
                    {
                        "labelled": int(point["labelled"]),
                        "mean_iou": float(point["mean_iou"]),
                        "mean_iou_std": float(point.get("mean_iou_std") or 0.0),
                    }
                )
            except (TypeError, KeyError, ValueError):
                raise InvalidInput(
                    f"point {n} of curve {strategy!r} needs numeric labelled and mean_iou"
                ) from None
        curves[str(strategy)] = clean
    return curves


@transaction.atomic
def import_simulation(project: Project, data: Any, name: str, user: Viewer | None = None) -> SimulationRun:
    curves = parse_curves(data)
    return SimulationRun.objects.create(
        project=project,
        name=name[:200] or "simulation",
        curves=curves,
        raw=data,
        created_by=signed_in(user) if getattr(user, "is_authenticated", False) else None,
    )
