"""The brush editor page: a Django template that boots the Vite bundle (frontend/)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template import Template, TemplateDoesNotExist
from django.template.loader import get_template

from annotator.pages.common import access_checked
from annotator.services import access

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


@login_required
@access_checked
def edit_slice(request: HttpRequest, slice_id: int) -> HttpResponse:
    slice_ = access.slice_in_reach(request.user, slice_id)
    context: dict[str, object] = {"base_template": _base_template(), "slice": slice_}
    if not access.can_open_slice(request.user, slice_):
        context["forbidden"] = (
            f"Slice {slice_id} is not assigned to you, so you cannot open it in the editor."
        )
        return render(request, "annotator/editor.html", context, status=403)
    context["editor_config"] = {"sliceId": slice_.pk, "apiBase": "/api", "csrfToken": get_token(request)}
    return render(request, "annotator/editor.html", context)
