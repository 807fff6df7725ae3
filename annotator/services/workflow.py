"""The per-slice workflow. Every state change goes through `transition`, which enforces the table.

unlabelled --model--> prelabelled
unlabelled | prelabelled | rejected | in_progress --save--> in_progress
in_progress --submit--> submitted
submitted --review--> accepted | rejected
accepted | rejected --reopen (supervisor)--> in_progress
"""

from __future__ import annotations

from typing import Any

from annotator.errors import InvalidTransition
from annotator.models import Slice, SliceState

S = SliceState
ALLOWED: dict[str, set[str]] = {
    S.UNLABELLED: {S.PRELABELLED, S.IN_PROGRESS},
    S.PRELABELLED: {S.PRELABELLED, S.IN_PROGRESS},
    S.IN_PROGRESS: {S.IN_PROGRESS, S.SUBMITTED},
    S.SUBMITTED: {S.ACCEPTED, S.REJECTED},
    S.REJECTED: {S.IN_PROGRESS, S.SUBMITTED},
    S.ACCEPTED: {S.IN_PROGRESS},
}
# States in which an annotator may save a new human revision on the main track.
EDITABLE = {S.UNLABELLED, S.PRELABELLED, S.IN_PROGRESS, S.REJECTED}


def can_transition(current: str, target: str) -> bool:
    return target in ALLOWED.get(current, set())


def transition(slice_: Slice, target: str, *, reason: str = "", **_: Any) -> Slice:
    """Move `slice_` (locked by the caller's select_for_update) to `target` or raise 409."""
    if not can_transition(slice_.state, target):
        raise InvalidTransition(
            f"slice {slice_.pk} is {slice_.state}; it cannot become {target}"
            + (f" ({reason})" if reason else ""),
            state=slice_.state,
            target=target,
        )
    slice_.state = target
    slice_.save(update_fields=["state", "updated_at"])
    return slice_
