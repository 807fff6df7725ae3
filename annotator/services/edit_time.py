"""Editing time per mask save: the bound enforced at the API edge and the reader every aggregate uses.

A client reports how long it edited (`X-Edit-Seconds`). The API refuses values above
MAX_EDIT_SECONDS; aggregates read stored values only through `stored_edit_seconds`, which ignores
anything that is not a finite number in range, so a value stored before the bound existed (or
written by any other path) can never turn a sum into inf/NaN and break a JSON answer.
"""

from __future__ import annotations

import math
from typing import Any

# One save covers at most a working day of editing; more is a clock or client bug, not work.
MAX_EDIT_SECONDS = 24 * 3600.0


def stored_edit_seconds(meta: Any) -> float | None:
    """The revision meta's `edit_seconds` when it is a finite number in [0, MAX_EDIT_SECONDS], else None."""
    if not isinstance(meta, dict):
        return None
    value = meta.get("edit_seconds")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_EDIT_SECONDS:
        return None
    return seconds
