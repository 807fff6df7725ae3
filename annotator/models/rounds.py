"""Active-learning rounds: the stable patient-level split, training rounds, model versions,
promotions, imported simulation curves and the stored correction-effort figures."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from annotator.models.cases import Slice
from annotator.models.jobs import Job
from annotator.models.schema import Project


class ProjectSplit(models.Model):
    """The seeded patient-level k-fold split of a project, saved once and reused by every round.

    `assignment` maps a subject label to its fold (0..k-1). New subjects are appended
    deterministically (rounds.training_set.assign_folds); an assigned subject never moves."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="splits")
    k = models.PositiveSmallIntegerField()
    seed = models.IntegerField(default=0)
    assignment = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "k"], name="one_split_per_project_and_k")]

    def __str__(self) -> str:
        return f"{self.project} {self.k}-fold split"


class TrainingRound(models.Model):
    """One retraining round. Its training set (accepted main-track revisions) and its folds are
    frozen at launch so results are reproducible and comparable between rounds."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="rounds")
    number = models.PositiveIntegerField(help_text="1, 2, ... within the project")
    job = models.OneToOneField(Job, on_delete=models.PROTECT, related_name="training_round")
    split = models.ForeignKey(ProjectSplit, on_delete=models.PROTECT, related_name="rounds")
    # Launch options: architectures, folds, epochs, channels, strategy, next_batch, small-config knobs.
    config = models.JSONField(default=dict)
    # Validation subject labels per fold, as frozen at launch: [[label, ...], ...].
    folds = models.JSONField(default=list)
    revision_ids = models.JSONField(default=list, help_text="accepted main-track revisions trained on")
    num_slices = models.PositiveIntegerField(default=0)
    num_subjects = models.PositiveIntegerField(default=0)
    # The live model at launch: the promotion gate compares the winner against it.
    baseline = models.ForeignKey(
        "annotator.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    report = models.JSONField(default=dict, blank=True, help_text="per architecture CV report")
    gate = models.JSONField(default=dict, blank=True, help_text="promotion decision and its numbers")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="unique_round_number")]

    def __str__(self) -> str:
        return f"{self.project} round {self.number}"


class ModelVersion(models.Model):
    """A registered model: the k fold models of one architecture trained in one round."""

    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        LIVE = "live", "Live (pre-labels)"
        RETIRED = "retired", "Retired"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    training_round = models.ForeignKey(
        TrainingRound, null=True, blank=True, on_delete=models.SET_NULL, related_name="versions"
    )
    label = models.CharField(max_length=100, help_text="e.g. r2-UVD; names the weights folder")
    architecture = models.CharField(max_length=50)
    config = models.JSONField(default=dict, help_text="mlcore TrainConfig as a dict")
    revision_ids = models.JSONField(default=list, help_text="data snapshot: revisions trained on")
    fold_iou = models.JSONField(default=list, help_text="per fold, per class IoU (null = absent)")
    report = models.JSONField(default=dict, help_text="mlcore.metrics.cv_summary")
    mean_iou = models.FloatField(null=True, blank=True, help_text="mean CV IoU without background")
    mean_iou_bg = models.FloatField(null=True, blank=True, help_text="mean CV IoU with background")
    weights = models.JSONField(default=list, help_text="storage path of each fold's checkpoint")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CANDIDATE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "label"], name="unique_model_label"),
            models.UniqueConstraint(
                fields=["project"], condition=models.Q(status="live"), name="one_live_model_per_project"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.status})"


class Promotion(models.Model):
    """Every change of the live model: who, when, why."""

    class Reason(models.TextChoices):
        GATE = "gate", "Promotion gate"
        MANUAL = "manual", "Manual override"
        ROLLBACK = "rollback", "Rollback"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="promotions")
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="promotions")
    previous = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=10, choices=Reason.choices)
    note = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]


class SimulationRun(models.Model):
    """Result of `python -m mlcore simulate ... --out file.json`: learning curves per strategy."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="simulations")
    name = models.CharField(max_length=200)
    # {strategy: [{"labelled": n, "mean_iou": x, ...}, ...]} normalised from the uploaded file.
    curves = models.JSONField(default=dict)
    raw = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]


class SliceEffort(models.Model):
    """One slice's part of the correction-effort figures (annotator.rounds.aggregates), kept current
    whenever the slice's main-track head changes; absent while the head is not human work."""

    slice = models.OneToOneField(Slice, primary_key=True, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    # The model version whose pre-label the annotators started from; 0 = drawn from scratch.
    source = models.PositiveIntegerField(default=0)
    edit_ms = models.BigIntegerField(default=0, help_text="editing time summed over the human chain")
    changed = models.BigIntegerField(default=0, help_text="pixels changed from the pre-label")
    pixels = models.BigIntegerField(default=0, help_text="pixels compared (0 when drawn from scratch)")
    class_changed = models.JSONField(default=list, help_text="per class of the pre-label")
    class_pixels = models.JSONField(default=list, help_text="per class of the pre-label")


class EffortTally(models.Model):
    """Correction effort summed per project, pre-label source and class, so the dashboard reads a few
    rows whatever the number of slices. `class_index` -1 holds the whole-slice sums (slices, timed
    slices, editing time, changed and compared pixels); a class row holds that class's pixels."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    source = models.PositiveIntegerField(help_text="model version id; 0 = drawn from scratch")
    class_index = models.SmallIntegerField()
    slices = models.BigIntegerField(default=0)
    timed = models.BigIntegerField(default=0)
    edit_ms = models.BigIntegerField(default=0)
    changed = models.BigIntegerField(default=0)
    pixels = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "source", "class_index"], name="one_effort_tally_row")
        ]
