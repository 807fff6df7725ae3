"""Review pages: the queue, one slice's review, agreement and annotator statistics."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import select_template
from django.views.decorators.csrf import ensure_csrf_cookie

from annotator.api.inputs import ReviewQueueQuery
from annotator.api.views.common import validated
from annotator.errors import SpineLabError
from annotator.pages.common import access_checked
from annotator.services import access
from annotator.services.agreement import agreement_report
from annotator.services.annotator_stats import annotator_stats
from annotator.services.projects import default_project
from annotator.services.review import review_queue

STAFF_ONLY = "only supervisors, ML staff and admins may open review pages"


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    access.require(access.is_staff(request.user), STAFF_ONLY)
    # The shared base template is written by the core work; until then a standalone one is used.
    base = select_template(["annotator/base.html", "annotator/review_base.html"])
    return render(request, template, {"base": base, "can_review": access.can_review(request.user), **context})


QUEUE_PAGE = 50


@login_required
@access_checked
def queue_page(request: HttpRequest) -> HttpResponse:
    """The review queue, QUEUE_PAGE slices a page (oldest submitted work first), with the API's filters."""
    q = request.GET
    error = ""
    page = None
    try:
        # The API's own checks (finite, bounded numbers; ids in the database's range).
        params = validated(ReviewQueueQuery, {k: v for k, v in q.items() if v != ""})
        queue = review_queue(
            annotator=params.get("annotator") or None,
            series=params.get("series"),
            subject=params.get("subject") or None,
            class_index=params.get("class"),
            older_than_hours=params.get("older_than_hours"),
        )
        if not access.sees_all_projects(request.user):  # else no join of every row up to its project
            queue = queue.filter(series__session__subject__project__in=access.staff_projects(request.user))
        page = Paginator(queue, QUEUE_PAGE).get_page(q.get("page"))
    except (ValueError, SpineLabError) as exc:
        error = f"bad filter: {exc}"
    keep = {k: v for k, v in q.items() if k != "page" and v != ""}

    def link(number: int) -> str:
        return "?" + urlencode({**keep, "page": number})

    classes = list(default_project().classes.order_by("index").values("index", "name"))
    return _page(
        request,
        "annotator/review_queue.html",
        {
            "rows": list(page.object_list) if page is not None else [],
            "page": page,
            "previous_link": link(page.previous_page_number()) if page and page.has_previous() else "",
            "next_link": link(page.next_page_number()) if page and page.has_next() else "",
            "filters": q,
            "error": error,
            "classes": classes,
        },
    )


@ensure_csrf_cookie
@login_required
@access_checked
def review_page(request: HttpRequest, slice_id: int) -> HttpResponse:
    slice_ = access.slice_in_reach(request.user, slice_id, "head_revision__author")
    project = slice_.project
    access.require(access.is_staff_in(request.user, project), STAFF_ONLY)
    config = {
        "sliceId": slice_.pk,
        "apiBase": "/api",
        "csrfToken": get_token(request),
        "width": slice_.width,
        "height": slice_.height,
        "state": slice_.state,
        "headRevision": slice_.head_revision_id,
        "canReview": access.has_role_in(request.user, project, *access.REVIEWERS),
        "classes": list(project.classes.order_by("index").values("index", "name", "colour")),
    }
    return _page(request, "annotator/review.html", {"slice": slice_, "config": json.dumps(config)})


@login_required
@access_checked
def agreement_page(request: HttpRequest) -> HttpResponse:
    project = access.project_from_request(request, *access.STAFF, what="see inter-annotator agreement")
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
@access_checked
def stats_page(request: HttpRequest) -> HttpResponse:
    project = access.project_from_request(request, *access.STAFF, what="see annotator statistics")
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
