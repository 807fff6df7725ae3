"""Core pages: login/logout and the case list (an annotator's queue, or everything for the others)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Case, Count, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from annotator.imports.labelmap import builtin_label_maps
from annotator.models import Assignment, Series, Slice, SliceState
from annotator.services import access
from annotator.services.ids import as_db_id

STATE_ORDER = [s.value for s in SliceState]
# The queue shows the work that needs the annotator first.
QUEUE_PRIORITY = {
    SliceState.REJECTED: 0,
    SliceState.IN_PROGRESS: 1,
    SliceState.PRELABELLED: 2,
    SliceState.UNLABELLED: 3,
    SliceState.SUBMITTED: 4,
    SliceState.ACCEPTED: 5,
}


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
    }
    if access.is_staff(user):
        context["subjects"] = overview(request.GET.get("project"), user)
    context["queue"] = my_queue(user) if access.is_annotator(user) else []
    return render(request, "annotator/cases.html", context)


def my_queue(user: Any) -> list[Slice]:
    priority = Case(
        *[When(state=s, then=Value(p)) for s, p in QUEUE_PRIORITY.items()],
        default=Value(9),
        output_field=IntegerField(),
    )
    mine = Assignment.objects.filter(
        annotator=user,
        active=True,
        slice__series__session__subject__project__in=access.visible_projects(user),
    ).values("slice_id")
    return list(
        Slice.objects.filter(pk__in=mine)
        .select_related("series__session__subject")
        .annotate(priority=priority)
        .order_by("priority", "rank", "id")[:500]
    )


def overview(project: str | None, user: Any) -> list[dict[str, Any]]:
    """Subjects -> series -> slice counts by state, plus each series' slices for direct links, of the
    projects the user sees fully."""
    series_qs = (
        Series.objects.filter(session__subject__project__in=access.staff_projects(user))
        .select_related("session__subject")
        .order_by("session__subject__label", "id")
    )
    project_id = as_db_id(project)
    if project_id is not None:
        series_qs = series_qs.filter(session__subject__project_id=project_id)
    series_list = list(series_qs[:500])
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
        subject = series.session.subject
        entry = subjects.setdefault(subject.pk, {"subject": subject, "series": []})
        entry["series"].append(
            {
                "series": series,
                "counts": [(s, counts[series.pk].get(s, 0)) for s in STATE_ORDER],
                "total": sum(counts[series.pk].values()),
                "slices": slices[series.pk],
            }
        )
    return list(subjects.values())
