from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


class SliceState(models.TextChoices):
    UNLABELLED = "unlabelled", "Unlabelled"
    PRELABELLED = "prelabelled", "Pre-labelled"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


# An annotator's queue order, stored on each assignment (issue 17) so "my slices" is read in index
# order instead of sorting every slice the annotator ever held: main work by the slice's state
# (rejected first, then in progress, pre-labelled, unlabelled), open double / gold tasks with the
# work in progress, then the slice's active-learning rank (unranked last), slice id. Closed rows
# (main work submitted or accepted, double / gold tasks completed) are not in the queue.
QUEUE_CLOSED = 9
QUEUE_UNRANKED = 2**31 - 1
MAIN_QUEUE_PRIORITY = {
    SliceState.REJECTED: 0,
    SliceState.IN_PROGRESS: 1,
    SliceState.PRELABELLED: 2,
    SliceState.UNLABELLED: 3,
    SliceState.SUBMITTED: QUEUE_CLOSED,
    SliceState.ACCEPTED: QUEUE_CLOSED,
}
SIDE_TASK_PRIORITY = 1


def queue_priority(purpose: str, slice_state: str, completed: bool) -> int:
    """Where an assignment stands in its annotator's queue (lower = sooner; QUEUE_CLOSED = not listed)."""
    if purpose == Assignment.Purpose.MAIN:
        return MAIN_QUEUE_PRIORITY.get(slice_state, QUEUE_CLOSED)  # type: ignore[call-overload]
    return QUEUE_CLOSED if completed else SIDE_TASK_PRIORITY


def queue_rank(rank: int | None) -> int:
    return QUEUE_UNRANKED if rank is None else rank


class AssignmentQuerySet(models.QuerySet["Assignment"]):
    def refresh_queue_keys(self) -> None:
        """Recompute the stored queue keys of these assignments from their slices, in the database (a
        few UPDATEs whatever the number of rows). For bulk writers (migrations, benchmarks, ranking);
        `Slice.save` and `Assignment.save` keep single rows current."""
        main = self.filter(purpose=Assignment.Purpose.MAIN)
        for priority in sorted(set(MAIN_QUEUE_PRIORITY.values())):
            states = [s for s, p in MAIN_QUEUE_PRIORITY.items() if p == priority]
            main.filter(slice__state__in=states).update(queue_priority=priority)
        side = self.exclude(purpose=Assignment.Purpose.MAIN)
        side.filter(completed_at__isnull=True).update(queue_priority=SIDE_TASK_PRIORITY)
        side.filter(completed_at__isnull=False).update(queue_priority=QUEUE_CLOSED)
        self.refresh_queue_ranks()

    def refresh_queue_ranks(self) -> None:
        from annotator.models.cases import Slice

        rank = Slice.objects.filter(pk=OuterRef("slice_id")).values("rank")[:1]
        self.update(queue_rank=Coalesce(Subquery(rank), Value(QUEUE_UNRANKED)))


class Assignment(models.Model):
    """A slice handed to an annotator. At most one active main-track assignment per slice."""

    class Purpose(models.TextChoices):
        MAIN = "main", "Annotation"
        DOUBLE = "double", "Blind second annotation"
        GOLD = "gold", "Gold-standard check"

    slice = models.ForeignKey("annotator.Slice", on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.MAIN)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The annotator's queue order (see QUEUE_CLOSED above), copied from the slice when it changes.
    queue_priority = models.PositiveSmallIntegerField(default=QUEUE_CLOSED)
    queue_rank = models.BigIntegerField(default=QUEUE_UNRANKED)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Partial (active rows only): SQLite cannot use a bare boolean column as an equality
            # prefix, but it can use an index whose WHERE matches the query's.
            models.Index(
                fields=["annotator", "queue_priority", "queue_rank", "slice", "id"],
                condition=models.Q(active=True),
                name="assignment_queue_order",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["slice", "purpose"],
                condition=models.Q(active=True, purpose="main"),
                name="one_active_main_assignment_per_slice",
            ),
            models.UniqueConstraint(
                fields=["slice", "annotator", "purpose"],
                condition=models.Q(active=True),
                name="one_active_assignment_per_slice_user_purpose",
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The queue keys follow the slice and the task: computed on every full save (creation included);
        # a save limited to other fields leaves them as they are.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or {"purpose", "completed_at", "slice"} & set(update_fields):
            slice_ = self.slice
            self.queue_priority = queue_priority(self.purpose, slice_.state, self.completed_at is not None)
            self.queue_rank = queue_rank(slice_.rank)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "queue_priority", "queue_rank"}
        super().save(*args, **kwargs)
