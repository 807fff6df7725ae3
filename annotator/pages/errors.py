"""The 403 and 404 pages (handler403 / handler404 in annotator/urls.py).

A page in the site's layout that says why, and what the user's roles may do instead. Under /api/ the
answer stays JSON in the API's shape ({"detail", "code"}), so clients never parse HTML.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from annotator.pages.nav import links_for, what_you_can_do


def _reason(exception: Exception | None, fallback: str) -> str:
    # Http404/PermissionDenied raised by the pages carry the access rule's message; Django's own
    # resolver 404 carries a dict of debug details, which is not for users.
    message = exception.args[0] if exception is not None and exception.args else None
    return message if isinstance(message, str) and message else fallback


def _answer(request: HttpRequest, status: int, code: str, reason: str, title: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": reason, "code": code}, status=status)
    user = getattr(request, "user", None) or AnonymousUser()  # absent when a middleware failed first
    return render(
        request,
        f"annotator/{status}.html",
        {"title": title, "reason": reason, "can_do": what_you_can_do(user), "links": links_for(user)},
        status=status,
    )


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(
        request,
        403,
        "permission_denied",
        _reason(exception, "Your role does not allow this page."),
        "Not allowed",
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(
        request, 404, "not_found", _reason(exception, f"There is no page at {request.path}."), "Not found"
    )
