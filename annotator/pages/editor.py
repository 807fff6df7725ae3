"""The brush editor page: a Django template that boots the Vite bundle (frontend/)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template import Template, TemplateDoesNotExist
from django.template.loader import get_template

from annotator.models import Assignment, Slice
from annotator.services import roles

# Used only until annotator/base.html exists, so the editor works on its own.
_STANDALONE_BASE = Template(
    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    "<meta name='viewport' content='width=device-width, initial-scale=1'>"
    "<title>{% block title %}SpineLab{% endblock %}</title>{% block head %}{% endblock %}</head>"
    "<body>{% block content %}{% endblock %}{% block scripts %}{% endblock %}</body></html>"
)


def _base_template() -> object:
    try:
        get_template("annotator/base.html")
        return "annotator/base.html"
    except TemplateDoesNotExist:
        return _STANDALONE_BASE


def can_open(user: Any, slice_: Slice) -> bool:
    """Staff roles see every slice of their projects; annotators only the ones assigned to them (any
    purpose) in projects they annotate."""
    project = slice_.series.session.subject.project
    if roles.sees_everything_in(user, project):
        return True
    if not roles.has_role_in(user, project, roles.ANNOTATOR):
        return False
    return Assignment.objects.filter(slice=slice_, annotator=user, active=True).exists()


@login_required
def edit_slice(request: HttpRequest, slice_id: int) -> HttpResponse:
    slice_ = Slice.objects.filter(pk=slice_id).select_related("series__session__subject__project").first()
    if slice_ is None or not roles.roles_in(request.user, slice_.project):
        raise Http404(f"slice {slice_id} does not exist")
    context: dict[str, object] = {"base_template": _base_template(), "slice": slice_}
    if not can_open(request.user, slice_):
        context["forbidden"] = (
            f"Slice {slice_id} is not assigned to you, so you cannot open it in the editor."
        )
        return render(request, "annotator/editor.html", context, status=403)
    context["editor_config"] = {"sliceId": slice_.pk, "apiBase": "/api", "csrfToken": get_token(request)}
    return render(request, "annotator/editor.html", context)
