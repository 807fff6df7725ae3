from __future__ import annotations

from django.conf import settings
from django.db import models


class MaskRevision(models.Model):
    """An immutable 2D label map of one slice, stored as an 8-bit indexed PNG (a few KB).

    Revisions form a chain through `parent`. Saves never overwrite or delete: a stale save is kept as
    a revision with `is_conflict=True` so the work is not lost. `track` separates the main annotation
    from blind double annotation ("double") and gold-standard masks ("gold").
    """

    class Source(models.TextChoices):
        HUMAN = "human", "Human"
        MODEL = "model", "Model"
        IMPORT = "import", "Import"

    class Track(models.TextChoices):
        MAIN = "main", "Main"
        DOUBLE = "double", "Double annotation"
        GOLD = "gold", "Gold standard"

    slice = models.ForeignKey("annotator.Slice", on_delete=models.CASCADE, related_name="revisions")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    track = models.CharField(max_length=10, choices=Track.choices, default=Track.MAIN)
    png = models.BinaryField(help_text="8-bit indexed PNG; pixel value = class index")
    sha256 = models.CharField(max_length=64, db_index=True, help_text="hash of the decoded label map")
    labelled_pixels = models.JSONField(default=list, help_text="pixel count per class index")
    is_conflict = models.BooleanField(default=False, help_text="saved against a stale base revision")
    # Free-form provenance: model version id, import file name, editing seconds, etc.
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Page aggregates, stored once at save so statistics never re-read every mask (issue 17):
    # the validated editing seconds of a human save (services/edit_time), and for a human main-track
    # revision its change against the pre-label it started from: {"total": [pixels per class of the
    # pre-label], "changed": [of those, pixels changed]}, {} when it did not start from one, null when
    # not computed yet (older revisions; annotator_stats fills them in once).
    edit_seconds = models.FloatField(null=True, blank=True)
    prelabel_change = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["slice", "id"]
        # Double/gold revisions are few: agreement finds them without reading the main track.
        indexes = [
            models.Index(fields=["track"], condition=~models.Q(track="main"), name="revision_second_track")
        ]

    def __str__(self) -> str:
        return f"rev {self.pk} of {self.slice_id} ({self.source})"
