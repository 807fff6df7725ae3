"""The exports page (/exports/): export a selection as a Job, follow it, download its zip; and, when a
DICOMweb server is configured, search the PACS, import a study and push a series' SEG back.

Server-rendered; static/annotator/js/exports.js posts to /api/exports/ and /api/dicomweb/* and polls
the Jobs. Supervisors, ML staff and admins only (the roles that may export)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.middleware.csrf import get_token
from django.shortcuts import render

from annotator.api.permissions import visible_jobs
from annotator.env import knob
from annotator.exports.service import CHANNEL_SETS, FORMATS, may_export
from annotator.models import Project, Series, TrainingRound
from annotator.services import roles
from annotator.services.projects import default_project

KINDS = ("export", "dicomweb_import", "dicomweb_push")


def _project(request: HttpRequest) -> Project:
    value = request.GET.get("project", "")
    found = Project.objects.filter(slug=value).first() if value else None
    project = found or default_project()
    if not roles.has_role_in(request.user, project, roles.SUPERVISOR, roles.ML_STAFF, roles.ADMIN):
        raise Http404(f"project {value!r} does not exist")
    return project


@login_required
def exports_page(request: HttpRequest) -> HttpResponse:
    if not may_export(request.user):
        return HttpResponseForbidden("only supervisors, ML staff and admins may export datasets")
    project = _project(request)
    recent = visible_jobs(request.user).filter(kind__in=KINDS).order_by("-id")[:20]
    context: dict[str, Any] = {
        "project": project,
        "projects": roles.projects_where(request.user, *roles.EVERYTHING).order_by("id"),
        "formats": FORMATS,
        "channel_sets": sorted(CHANNEL_SETS),
        "rounds": TrainingRound.objects.filter(project=project).order_by("-number"),
        "chosen_round": request.GET.get("round", ""),
        "subjects": project.subjects.order_by("label"),
        "jobs": recent,
        "dicomweb": knob("DICOMWEB_URL"),
        "can_import": roles.has_role(request.user, roles.SUPERVISOR, roles.ADMIN),
        "dicom_series": Series.objects.filter(session__subject__project=project, source_format="dicom")
        .select_related("session__subject")
        .order_by("id"),
        "config": {"csrfToken": get_token(request), "project": project.pk},
    }
    return render(request, "annotator/exports.html", context)
