"""Domain errors that the API turns into clear 4xx answers (see annotator/api/errors.py)."""

from __future__ import annotations

from typing import Any


class SpineLabError(Exception):
    """Base class: a bad input or a refused action. `status` is the HTTP status the API answers."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidInput(SpineLabError):
    status = 400
    code = "invalid"


class InvalidMask(SpineLabError):
    status = 400
    code = "invalid_mask"


class ImportFailed(SpineLabError):
    status = 400
    code = "import_failed"


class PayloadTooLarge(SpineLabError):
    status = 413
    code = "too_large"


class Forbidden(SpineLabError):
    status = 403
    code = "forbidden"


class NotFound(SpineLabError):
    status = 404
    code = "not_found"


class Conflict(SpineLabError):
    status = 409
    code = "conflict"


class InvalidTransition(SpineLabError):
    status = 409
    code = "invalid_transition"
