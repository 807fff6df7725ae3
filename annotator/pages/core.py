"""Core pages: login/logout and the case list (an annotator's open work, or the series overview).

Both parts cost the same whatever the dataset's size: the annotator sees at most QUEUE_LENGTH open
slices and links to the API lists of the rest (submitted, accepted); the overview shows one page of SERIES_PER_PAGE series (their slices as
chips, state counts by one grouped query over those series only), filtered by project and subject."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from annotator.imports.labelmap import builtin_label_maps
from annotator.models import Series, Slice, SliceState
from annotator.services import access, review
from annotator.services.ids import as_db_id
from annotator.users import User, Viewer

STATE_ORDER = [s.value for s in SliceState]
DONE_STATES = (SliceState.SUBMITTED, SliceState.ACCEPTED)
QUEUE_LENGTH = 50
SERIES_PER_PAGE = 25


@login_required
@ensure_csrf_cookie
def case_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    context: dict[str, Any] = {
        "can_import": access.can_import(user),
        "is_annotator": access.is_annotator(user),
        "projects": access.visible_projects(user).order_by("id"),
        "can_manage_projects": access.can_manage_projects(user),
        "label_maps": builtin_label_maps(),
        "states": STATE_ORDER,
        "subjects": None,
    }
    if access.is_staff(user):
        context.update(overview(request, user))
    if access.is_annotator(user) and isinstance(user, User):
        context["queue"] = my_queue(user)
        context["done"] = DONE_STATES
    return render(request, "annotator/cases.html", context)


def my_queue(user: User) -> list[Slice]:
    """My open work, the most urgent first: the first QUEUE_LENGTH rows of the API's my-queue (one
    rule, services/review.my_queue, read in its index order), one row per slice."""
    seen: dict[int, Slice] = {}
    for assignment in review.my_queue(user)[:QUEUE_LENGTH]:
        seen.setdefault(assignment.slice_id, assignment.slice)
    return list(seen.values())


def overview(request: HttpRequest, user: Viewer) -> dict[str, Any]:
    """One page of series (subject label, id order) of the projects the user sees fully, each with
    its slice counts by state and its slices as chips. Filters: ?project=<id>, ?subject=<label part>."""
    series_qs = Series.objects.order_by("session__subject__label", "id")
    if not access.sees_all_projects(user):
        # Only for a partly visible site: the filter joins every series up to its project, in the
        # count too.
        series_qs = series_qs.filter(session__subject__project__in=access.staff_projects(user))
    project_id = as_db_id(request.GET.get("project"))
    if project_id is not None:
        series_qs = series_qs.filter(session__subject__project_id=project_id)
    subject = (request.GET.get("subject") or "").strip()[:200]
    if subject:
        series_qs = series_qs.filter(session__subject__label__icontains=subject)
    # The page's ids first (a sort of narrow rows over every listed series), then its 25 rows.
    page = Paginator(series_qs.values_list("id", flat=True), SERIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    found = Series.objects.select_related("session__subject").in_bulk(list(page.object_list))
    series_list = [found[i] for i in page.object_list if i in found]
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        Slice.objects.filter(series__in=series_list).values("series_id", "state").annotate(n=Count("id"))
    ):
        counts[row["series_id"]][row["state"]] = row["n"]
    slices: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for slice_row in (
        Slice.objects.filter(series__in=series_list)
        .order_by("index")
        .values("id", "series_id", "index", "state")
    ):
        slices[slice_row["series_id"]].append(dict(slice_row))
    subjects: dict[int, dict[str, Any]] = {}
    for series in series_list:
        subject_row = series.session.subject
        entry = subjects.setdefault(subject_row.pk, {"subject": subject_row, "series": []})
        entry["series"].append(
            {
                "series": series,
                "counts": [(s, counts[series.pk].get(s, 0)) for s in STATE_ORDER],
                "total": sum(counts[series.pk].values()),
                "slices": slices[series.pk],
            }
        )
    keep = {k: v for k, v in (("project", request.GET.get("project", "")), ("subject", subject)) if v}

    def link(number: int) -> str:
        return "?" + urlencode({**keep, "page": number})

    return {
        "subjects": list(subjects.values()),
        "series_page": page,
        "subject_filter": subject,
        "previous_link": link(page.previous_page_number()) if page.has_previous() else "",
        "next_link": link(page.next_page_number()) if page.has_next() else "",
    }
