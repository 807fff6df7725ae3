from __future__ import annotations

from typing import Any

from django.db import models

from annotator.models.schema import Project
from annotator.models.workflow import Assignment, queue_priority, queue_rank


class Subject(models.Model):
    """A patient (BIMCV `sub-` entity). Patient-level folds group slices by subject."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="subjects")
    label = models.CharField(max_length=100, help_text="e.g. 'S0001' from sub-S0001")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "label"]
        constraints = [models.UniqueConstraint(fields=["project", "label"], name="unique_subject_label")]

    def __str__(self) -> str:
        return f"sub-{self.label}"


class Session(models.Model):
    """A study of a subject (BIMCV `ses-` entity)."""

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="sessions")
    label = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["subject", "label"]
        constraints = [models.UniqueConstraint(fields=["subject", "label"], name="unique_session_label")]

    def __str__(self) -> str:
        return f"{self.subject}/ses-{self.label}"


class Series(models.Model):
    """One acquired volume. Its sagittal planes become Slices; originals stay untouched in SourceFile."""

    class Format(models.TextChoices):
        NIFTI = "nifti", "NIfTI (MIDS)"
        DICOM = "dicom", "DICOM"
        PNG = "png", "PNG slices"
        SYNTHETIC = "synthetic", "Synthetic phantom"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="series")
    modality = models.CharField(max_length=20, help_text="T2w, T1w or another contrast")
    view = models.CharField(max_length=20, default="sag")
    source_format = models.CharField(max_length=20, choices=Format.choices)
    description = models.CharField(max_length=300, blank=True)
    series_uid = models.CharField(max_length=128, blank=True, help_text="DICOM SeriesInstanceUID")
    # Shape of the stored volume as (sagittal planes, rows, cols) after re-orientation.
    shape = models.JSONField(default=list)
    spacing = models.JSONField(default=list, help_text="mm per voxel (plane, row, col)")
    affine = models.JSONField(default=list, help_text="4x4 voxel-to-world affine of the source")
    dtype = models.CharField(max_length=20, default="int16")
    metadata = models.JSONField(default=dict, blank=True)
    # Hash of the source files: re-importing the same files is recognised and not duplicated.
    content_hash = models.CharField(max_length=64, db_index=True)
    # When this series is resampled onto another (T1w onto T2w), the reference series.
    aligned_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "modality", "id"]
        verbose_name_plural = "series"
        constraints = [
            models.UniqueConstraint(fields=["session", "content_hash"], name="unique_series_content"),
        ]

    def __str__(self) -> str:
        return f"{self.session} {self.modality} ({self.source_format})"

    @property
    def project(self) -> Project:
        return self.session.subject.project


class SourceFile(models.Model):
    """An original file as uploaded, kept byte for byte."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="source_files")
    name = models.CharField(max_length=500, help_text="path inside the import, for provenance")
    file = models.FileField(upload_to="originals/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()


class Slice(models.Model):
    """A sagittal plane of a series: the unit of annotation.

    `channels` maps a channel name (the series modality, e.g. "T2w", plus "T1w" when a T1w series of
    the same session was resampled onto this grid) to a storage path of a 2D .npy array in the
    original value range. `stats` holds per-channel min/max/p1/p99 for window presets.
    """

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="slices")
    index = models.PositiveIntegerField(help_text="plane index along the sagittal axis")
    height = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    channels = models.JSONField(default=dict)
    stats = models.JSONField(default=dict)
    state = models.CharField(max_length=20, default="unlabelled", db_index=True)
    # Head of the main annotation track (newest non-conflict revision); None while unlabelled.
    head_revision = models.ForeignKey(
        "annotator.MaskRevision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Newest model-sourced revision, kept separately so the editor can compare or start from it.
    prelabel_revision = models.ForeignKey(
        "annotator.MaskRevision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Active-learning priority: lower rank = annotate sooner. Null = not ranked yet.
    rank = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    rank_score = models.FloatField(null=True, blank=True)
    # Indexed: its maximum tells the statistics cache that some slice changed (services/annotator_stats).
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # Creation time of `head_revision`, stored so the review queue (submitted slices, oldest work first)
    # is read in index order instead of joining and sorting every submitted slice (issue 17).
    head_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["series", "index"]
        constraints = [models.UniqueConstraint(fields=["series", "index"], name="unique_slice_index")]
        indexes = [
            models.Index(fields=["state", "head_at", "id"], name="slice_state_head_at"),
            # `?state=` lists in their default order (series, index) read in index order, no sort.
            models.Index(fields=["state", "series", "index"], name="slice_state_series_index"),
        ]

    def __str__(self) -> str:
        return f"{self.series} slice {self.index}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saves, and keeps the stored queue keys of the slice's active assignments current when its
        state or rank is written (workflow.transition, the admin, a reopen); bulk `update()`s of state
        or rank call `Assignment.objects.refresh_queue_keys()` themselves (rounds/ranking.py)."""
        fields = kwargs.get("update_fields")
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            return  # no assignment can exist yet
        held = Assignment.objects.filter(slice=self, active=True)
        if fields is None or "state" in fields:
            held.filter(purpose=Assignment.Purpose.MAIN).update(
                queue_priority=queue_priority(Assignment.Purpose.MAIN, self.state, False)
            )
        if fields is None or "rank" in fields:
            held.update(queue_rank=queue_rank(self.rank))

    @property
    def project(self) -> Project:
        return self.series.session.subject.project

    @property
    def subject(self) -> Subject:
        return self.series.session.subject
