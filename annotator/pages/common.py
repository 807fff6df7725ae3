"""What every server-rendered page shares: access refusals as pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from annotator.errors import Forbidden, NotFound


def access_checked(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn annotator.services.access refusals into pages: NotFound -> 404, Forbidden -> 403 with the
    reason (both rendered by annotator.pages.errors in the site's layout)."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc

    return checked
