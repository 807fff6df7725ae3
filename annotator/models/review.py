from __future__ import annotations

from django.conf import settings
from django.db import models


class ReviewDecision(models.Model):
    """One supervisor decision on a submitted slice: the audit trail keeps every one, never edited.

    `revision` is the main-track head the supervisor looked at when deciding.
    """

    class Decision(models.TextChoices):
        ACCEPT = "accept", "Accept"
        REJECT = "reject", "Reject"

    slice = models.ForeignKey("annotator.Slice", on_delete=models.CASCADE, related_name="reviews")
    revision = models.ForeignKey("annotator.MaskRevision", on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="review_decisions"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.decision} of slice {self.slice_id} rev {self.revision_id}"


class ReviewComment(models.Model):
    """A comment pinned to a point (x, y, optional radius) or a polygon region, in image pixels."""

    decision = models.ForeignKey(ReviewDecision, on_delete=models.CASCADE, related_name="pins")
    x = models.FloatField(help_text="image column of the pin")
    y = models.FloatField(help_text="image row of the pin")
    radius = models.FloatField(null=True, blank=True, help_text="circle radius in pixels")
    polygon = models.JSONField(null=True, blank=True, help_text="[[x, y], ...] region in image pixels")
    text = models.TextField(blank=True)
    # The annotator's "done" tick on a pin (issue 13); null while open.
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["decision", "id"]

    def __str__(self) -> str:
        return f"pin ({self.x:.0f}, {self.y:.0f}) on {self.decision_id}"


class MaskComparison(models.Model):
    """The confusion matrix of two revisions (`reference` = main or gold, `other` = the second
    annotator's), computed once: revisions never change, so agreement views never decode them again."""

    reference = models.ForeignKey("annotator.MaskRevision", on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey("annotator.MaskRevision", on_delete=models.CASCADE, related_name="+")
    confusion = models.JSONField(help_text="(K, K) counts: rows = other's class, columns = reference's")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reference", "other"], name="unique_mask_comparison")]

    def __str__(self) -> str:
        return f"rev {self.other_id} vs {self.reference_id}"
