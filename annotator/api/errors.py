"""Turns domain errors into clear JSON 4xx answers: {"detail": "...", "code": "...", ...extra}."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotator.errors import SpineLabError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, SpineLabError):
        return Response({"detail": exc.message, "code": exc.code, **exc.extra}, status=exc.status)
    return drf_exception_handler(exc, context)
