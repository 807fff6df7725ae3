from __future__ import annotations

from django.conf import settings
from django.db import models


class SliceState(models.TextChoices):
    UNLABELLED = "unlabelled", "Unlabelled"
    PRELABELLED = "prelabelled", "Pre-labelled"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


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

    class Meta:
        ordering = ["-created_at"]
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
