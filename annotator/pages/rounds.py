"""Rounds pages: the dashboard (/rounds/), the launch form (/rounds/new), a round (/rounds/<id>/) and
the next slices in rank order (/rounds/<id>/ranking/).

The dashboard and round pages render the IoU tables server-side and hand live parts (job progress,
learning curves, promotion buttons) to frontend/src/pages/rounds.ts through a JSON config block."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render

from annotator.errors import Forbidden, NotFound, SpineLabError
from annotator.models import Project, Series, Slice, TrainingRound
from annotator.rounds import dashboard as board
from annotator.rounds import next_slices as ranked
from annotator.rounds import options as round_options
from annotator.rounds.launch import launch_round
from annotator.services import access
from annotator.services.ids import as_db_id
from annotator.services.projects import CHANNEL_SETS, default_project, project_channel_choice

RANKED_SHOWN = 1000  # the dashboard counts ranked slices up to this many ("more than ..." beyond)


def ranked_count(project: Project) -> int:
    """How many of the project's slices are ranked, counted up to RANKED_SHOWN + 1.

    Read from the rank index (`rank >= 0` is "ranked": ranks are positive integers; SQLite does not
    range-scan an index for IS NOT NULL), each ranked slice checked for its project, so the count
    stops early instead of walking every slice of the project."""
    in_project = Series.objects.filter(pk=OuterRef("series_id"), session__subject__project=project)
    ranked = Slice.objects.filter(rank__gte=0).filter(Exists(in_project)).order_by().values("pk")
    return ranked[: RANKED_SHOWN + 1].count()


def _reader(request: HttpRequest) -> bool:
    return access.is_staff(request.user)


def _project(request: HttpRequest) -> Project:
    value = request.GET.get("project") or request.POST.get("project")
    if value:
        project = Project.objects.filter(slug=value).first() or (
            Project.objects.filter(pk=project_id).first()
            if (project_id := as_db_id(value)) is not None
            else None
        )
        if project is not None:
            return project
    return default_project()


def _require_role(request: HttpRequest, project: Project, *names: str) -> None:
    """404 for a project the user holds no role in, 403 (the styled page, annotator.pages.errors) when
    their role there is not one of `names`."""
    try:
        access.require_role_in(request.user, project, *names, what="open this page")
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc


def _require_reader(request: HttpRequest) -> None:
    if not _reader(request):
        raise PermissionDenied("Training rounds are for ML staff, supervisors and admins.")


def _pct(cell: dict[str, Any] | None) -> str:
    if not cell or cell.get("mean") is None:
        return "–"
    return f"{cell['mean'] * 100:.1f} ± {(cell.get('std') or 0) * 100:.1f}"


def table_rows(table: dict[str, Any]) -> dict[str, Any]:
    """The paper's layout as display strings: classes as rows, architectures as columns (IoU %)."""
    archs = table["architectures"]
    rows = [{"name": r["class"], "cells": [_pct(r["cells"][a]) for a in archs]} for r in table["rows"]]
    means = [
        {
            "name": "mean IoU without background",
            "cells": [_pct(table["mean_without_background"][a]) for a in archs],
        },
        {
            "name": "mean IoU with background",
            "cells": [_pct(table["mean_with_background"][a]) for a in archs],
        },
    ]
    return {
        "archs": archs,
        "best": table["best"],
        "rows": rows,
        "means": means,
        "round": table["round"],
        "round_id": table["round_id"],
        "errors": table["errors"],
        "gate": table["gate"],
        "num_slices": table["num_slices"],
        "lesions": [
            {"name": r["class"], "cells": [_lesion_cell(r["cells"].get(a)) for a in archs]}
            for r in table.get("lesions", [])
        ],
        "postprocess": [_postprocess_cell((table.get("postprocess") or {}).get(a)) for a in archs],
    }


def _postprocess_cell(decision: dict[str, Any] | None) -> str:
    """'largest foreground component (CV mean IoU 80.8 -> 81.5 %)' or 'none (... with it)'."""
    if not decision or "largest_foreground" not in decision.get("mean_iou_fg", {}):
        return "none"
    raw, post = decision["mean_iou_fg"].get("none"), decision["mean_iou_fg"]["largest_foreground"]
    figures = f"mean IoU {_pct_value(raw)} without, {_pct_value(post)} with it"
    if decision.get("chosen") == "largest_foreground":
        return f"largest foreground component ({figures})"
    return f"none ({figures})"


def _pct_value(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _lesion_cell(cell: dict[str, Any] | None) -> str:
    """'3/4 found (75.0 %), 0.50 FP/slice, 1.50 FP/volume, lesion Dice 61.2 %' for one class and
    architecture (FP/volume only where the report counted volumes)."""
    if not cell:
        return "–"
    sens = "–" if cell["sensitivity"] is None else f"{cell['sensitivity'] * 100:.1f} %"
    dice = "–" if cell["lesion_dice"] is None else f"{cell['lesion_dice'] * 100:.1f} %"
    fp = "–" if cell["fp_per_image"] is None else f"{cell['fp_per_image']:.2f}"
    per_volume = cell.get("fp_per_volume")
    fp_volume = "" if per_volume is None else f", {per_volume:.2f} FP/volume"
    return (
        f"{cell['detected']}/{cell['lesions']} found ({sens}), {fp} FP/slice{fp_volume}, lesion Dice {dice}"
    )


def _config(request: HttpRequest, project: Project, **extra: Any) -> dict[str, Any]:
    return {
        "apiBase": "/api",
        "csrfToken": get_token(request),
        "project": project.pk,
        "canLaunch": access.can_train(request.user),
        **extra,
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    project = _project(request)
    _require_role(request, project, *access.STAFF)
    data = board.dashboard(project)
    return render(
        request,
        "annotator/rounds.html",
        {
            "project": project,
            "data": data,
            "tables": [table_rows(t) for t in data["tables"]],
            "ranked_count": ranked_count(project),
            "ranked_shown": RANKED_SHOWN,
            "config": _config(request, project),
            "can_launch": access.can_train(request.user),
        },
    )


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reader(request)
    rnd = get_object_or_404(TrainingRound, pk=pk)
    _require_role(request, rnd.project, *access.STAFF)
    data = board.round_detail_for(rnd, request.user)
    table = table_rows(board.iou_table(rnd)) if rnd.report else None
    return render(
        request,
        "annotator/rounds_detail.html",
        {
            "round": data,
            "table": table,
            "project": rnd.project,
            "config": _config(request, rnd.project, roundId=rnd.pk, jobId=rnd.job_id),
            "can_launch": access.can_train(request.user),
        },
    )


@login_required
def new(request: HttpRequest) -> HttpResponse:
    if not access.can_train(request.user):
        raise PermissionDenied("Only ML staff can launch a training round.")
    project = _project(request)
    _require_role(request, project, *access.TRAINERS)
    error, values = "", {}
    if request.method == "POST":
        values = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        data: dict[str, Any] = dict(values)
        data["architectures"] = request.POST.getlist("architectures")
        try:
            rnd = launch_round(project, request.user, round_options.parse_options(data))
            return redirect(f"/rounds/{rnd.pk}/")
        except SpineLabError as exc:
            error = exc.message
    defaults = round_options.default_options()
    chosen = request.POST.getlist("architectures") if request.method == "POST" else defaults.architectures
    return render(
        request,
        "annotator/rounds_new.html",
        {
            "project": project,
            "error": error,
            "values": values,
            "defaults": defaults,
            "architectures": [
                {"name": n, "description": round_options.ARCHITECTURES[n], "checked": n in chosen}
                for n in round_options.PAPER_ARCHITECTURES
                + sorted(set(round_options.ARCHITECTURES) - set(round_options.PAPER_ARCHITECTURES))
            ],
            "strategies": round_options.STRATEGIES,
            "channel_sets": list(dict.fromkeys([project_channel_choice(project), *CHANNEL_SETS])),
            "optimisers": ["AdamW", "SGD", "paper"],
            "augmentations": round_options.AUGMENTATION_CHOICES,
            "preset": settings.SPINELAB["ROUND_PRESET"],
            "floor": settings.SPINELAB["PROMOTION_FLOOR"],
        },
        status=400 if error else 200,
    )


@login_required
def ranking(request: HttpRequest, pk: int) -> HttpResponse:
    """The next slices to annotate, 50 a page: the round's project's current ranking."""
    _require_reader(request)
    rnd = get_object_or_404(TrainingRound, pk=pk)
    _require_role(request, rnd.project, *access.STAFF)
    context: dict[str, Any] = {"round": rnd, "project": rnd.project, "error": ""}
    try:
        context["ranking"] = ranked.ranking_page(rnd.project, request.GET.get("page"))
    except SpineLabError as exc:
        context["error"] = exc.message
    return render(request, "annotator/rounds_ranking.html", context, status=400 if context["error"] else 200)
