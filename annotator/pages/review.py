"""Review pages: the queue, one slice's review, agreement and annotator statistics."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import select_template
from django.views.decorators.csrf import ensure_csrf_cookie

from annotator.api.inputs import ReviewQueueQuery
from annotator.api.views.common import validated
from annotator.errors import SpineLabError
from annotator.models import Project, Slice
from annotator.services import roles
from annotator.services.agreement import agreement_report
from annotator.services.annotator_stats import annotator_stats
from annotator.services.ids import as_db_id
from annotator.services.projects import default_project
from annotator.services.review import review_queue


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], project: Project | None = None
) -> HttpResponse:
    if not roles.sees_everything(request.user) or (
        project is not None and not roles.sees_everything_in(request.user, project)
    ):
        raise PermissionDenied("only supervisors, ML staff and admins may open review pages")
    # The shared base template is written by the core work; until then a standalone one is used.
    base = select_template(["annotator/base.html", "annotator/review_base.html"])
    return render(
        request, template, {"base": base, "can_review": roles.is_supervisor(request.user), **context}
    )


def _project(request: HttpRequest) -> Project:
    """The ?project= project (default: the default one); 404 when the user sees it not fully."""
    raw = request.GET.get("project", "")
    project_id = as_db_id(raw)
    found = Project.objects.filter(pk=project_id).first() if project_id is not None else default_project()
    if found is None or not roles.roles_in(request.user, found):
        raise Http404(f"project {raw} does not exist")
    return found


@login_required
def queue_page(request: HttpRequest) -> HttpResponse:
    q = request.GET
    error = ""
    rows: list[Slice] = []
    try:
        # The API's own checks (finite, bounded numbers; ids in the database's range).
        params = validated(ReviewQueueQuery, {k: v for k, v in q.items() if v != ""})
        rows = list(
            review_queue(
                annotator=params.get("annotator") or None,
                series=params.get("series"),
                subject=params.get("subject") or None,
                class_index=params.get("class"),
                older_than_hours=params.get("older_than_hours"),
            ).filter(
                series__session__subject__project__in=roles.projects_where(request.user, *roles.EVERYTHING)
            )[:200]
        )
    except (ValueError, SpineLabError) as exc:
        error = f"bad filter: {exc}"
    classes = list(default_project().classes.order_by("index").values("index", "name"))
    return _page(
        request,
        "annotator/review_queue.html",
        {"rows": rows, "filters": q, "error": error, "classes": classes},
    )


@ensure_csrf_cookie
@login_required
def review_page(request: HttpRequest, slice_id: int) -> HttpResponse:
    slice_ = (
        Slice.objects.select_related("series__session__subject__project", "head_revision__author")
        .filter(pk=slice_id)
        .first()
    )
    if slice_ is None or not roles.roles_in(request.user, slice_.project):
        raise Http404(f"slice {slice_id} does not exist")
    project = slice_.project
    config = {
        "sliceId": slice_.pk,
        "apiBase": "/api",
        "csrfToken": get_token(request),
        "width": slice_.width,
        "height": slice_.height,
        "state": slice_.state,
        "headRevision": slice_.head_revision_id,
        "canReview": roles.has_role_in(request.user, project, roles.SUPERVISOR, roles.ADMIN),
        "classes": list(project.classes.order_by("index").values("index", "name", "colour")),
    }
    return _page(request, "annotator/review.html", {"slice": slice_, "config": json.dumps(config)}, project)


@login_required
def agreement_page(request: HttpRequest) -> HttpResponse:
    project = _project(request)
    if not roles.sees_everything_in(request.user, project):
        raise PermissionDenied("only supervisors, ML staff and admins may open review pages")
    report = agreement_report(project)
    report["rows"] = [
        {
            "name": name,
            "double": report["double"]["iou_per_class"][i],
            "gold": report["gold"]["iou_per_class"][i],
        }
        for i, name in enumerate(report["classes"])
    ]
    return _page(request, "annotator/review_agreement.html", {"report": report})


@login_required
def stats_page(request: HttpRequest) -> HttpResponse:
    project = _project(request)
    if not roles.sees_everything_in(request.user, project):
        raise PermissionDenied("only supervisors, ML staff and admins may open review pages")
    stats = annotator_stats(project)
    for row in stats["annotators"]:
        row["per_class"] = [
            {
                "name": name,
                "changed": row["prelabel_changed_per_class"][i],
                "double": row["agreement_double_per_class"][i],
                "gold": row["agreement_gold_per_class"][i],
            }
            for i, name in enumerate(stats["classes"])
        ]
    return _page(request, "annotator/review_stats.html", {"stats": stats})
