"""The exports page (/exports/): export a selection as a Job, follow it, download its zip; and, when a
DICOMweb server is configured, search the PACS, import a study and push a series' SEG back.

Server-rendered; frontend/src/pages/exports.ts posts to /api/exports/ and /api/dicomweb/* and polls
the Jobs. Supervisors, ML staff and admins only (the roles that may export)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils.html import format_html_join

from annotator.env import knob
from annotator.exports.service import FORMATS
from annotator.models import Series, TrainingRound
from annotator.pages.common import access_checked
from annotator.services import access
from annotator.services.projects import CHANNEL_SETS, project_channel_choice

KINDS = ("export", "dicomweb_import", "dicomweb_push")
LISTED = 200  # subjects and DICOM series offered at once


def dicom_series(project: Any, subject_filter: str) -> Any:
    """The project's DICOM series (LISTED at most, lazily: read only when a PACS is configured)."""
    found = Series.objects.filter(session__subject__project=project, source_format="dicom")
    if subject_filter:
        found = found.filter(session__subject__label__icontains=subject_filter)
    return found.select_related("session__subject").order_by("id")[:LISTED]


@login_required
@access_checked
def exports_page(request: HttpRequest) -> HttpResponse:
    access.require(
        access.can_export(request.user), "only supervisors, ML staff and admins may export datasets"
    )
    project = access.project_from_request(request, *access.EXPORTERS, what="export its datasets")
    # The subject and DICOM series choices are searched, never listed whole: the page stays the same
    # size however many subjects the project has (none chosen still exports them all).
    subject_filter = (request.GET.get("subject") or "").strip()[:200]
    subjects = project.subjects.order_by("label")
    if subject_filter:
        subjects = subjects.filter(label__icontains=subject_filter)
    # Counted up to one past what is listed: "more than LISTED" needs no count of every subject.
    subject_count = subjects.order_by().values("pk")[: LISTED + 1].count()
    recent = access.visible_jobs(request.user).filter(kind__in=KINDS).order_by("-id")[:20]
    context: dict[str, Any] = {
        "project": project,
        "projects": access.staff_projects(request.user).order_by("id"),
        "formats": FORMATS,
        "channel_sets": list(dict.fromkeys([project_channel_choice(project), *CHANNEL_SETS])),
        "rounds": TrainingRound.objects.filter(project=project).order_by("-number"),
        "chosen_round": request.GET.get("round", ""),
        # Up to LISTED <option>s built in one pass (escaped by format_html_join), not a template loop.
        "subject_options": format_html_join(
            "", '<option value="{}">{}</option>', subjects.values_list("pk", "label")[:LISTED]
        ),
        "subject_count": subject_count,
        "subject_filter": subject_filter,
        "listed": LISTED,
        "jobs": recent,
        "dicomweb": knob("DICOMWEB_URL"),
        "can_import": access.can_import(request.user),
        "dicom_series": dicom_series(project, subject_filter),
        "config": {"csrfToken": get_token(request), "project": project.pk},
    }
    return render(request, "annotator/exports.html", context)
