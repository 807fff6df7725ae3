from __future__ import annotations

from django.conf import settings
from django.db import models


class Job(models.Model):
    """The durable record of one background task; the Celery task itself keeps it up to date.

    A Job's `kind` names its Celery task (`TASK_NAMES`, the one table the task modules register
    under), so a retry knows what to run. Rows from before `Kind` existed keep their task name in
    params["_task"] and stay retryable (`task_name`)."""

    class Kind(models.TextChoices):
        IMPORT = "import", "Import"
        EXPORT = "export", "Export"
        DICOMWEB_IMPORT = "dicomweb_import", "DICOMweb import"
        DICOMWEB_PUSH = "dicomweb_push", "DICOMweb push"
        ROUND = "round", "Training round"
        TRAIN_FOLD = "train_fold", "Train one fold"
        FINALIZE_ROUND = "finalize_round", "Finalize a round"
        PRELABEL = "prelabel", "Pre-label and rank"
        PING = "ping", "Ping"
        SLEEP = "sleep", "Sleep"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (State.SUCCEEDED, State.FAILED, State.CANCELLED)

    kind = models.CharField(max_length=50, db_index=True, choices=Kind.choices)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED, db_index=True)
    queue = models.CharField(max_length=20, default="default")
    progress = models.FloatField(default=0.0, help_text="0..1")
    message = models.CharField(max_length=500, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    celery_task_id = models.CharField(max_length=100, blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def task_name(self) -> str:
        """The Celery task that runs this job ("" for a job no task runs, such as a round's own Job)."""
        return TASK_NAMES.get(self.kind, "") or str((self.params or {}).get("_task") or "")


# The Celery task of each kind of job; annotator/tasks/*.py register under exactly these names. A
# round's own Job has no task: its children do the work.
TASK_NAMES: dict[str, str] = {
    Job.Kind.IMPORT: "annotator.tasks.imports.run_import",
    Job.Kind.EXPORT: "annotator.tasks.exports.run_export",
    Job.Kind.DICOMWEB_IMPORT: "annotator.tasks.exports.dicomweb_import",
    Job.Kind.DICOMWEB_PUSH: "annotator.tasks.exports.dicomweb_push",
    Job.Kind.TRAIN_FOLD: "annotator.tasks.gpu.train_fold",
    Job.Kind.FINALIZE_ROUND: "annotator.tasks.rounds.finalize_round",
    Job.Kind.PRELABEL: "annotator.tasks.gpu.prelabel",
    Job.Kind.PING: "annotator.tasks.maintenance.ping",
    Job.Kind.SLEEP: "annotator.tasks.maintenance.sleep",
}
