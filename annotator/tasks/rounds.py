"""Light round orchestration on the default queue: the finalize step after all training jobs."""

from __future__ import annotations

from celery import shared_task

from annotator.models.jobs import TASK_NAMES, Job
from annotator.rounds import steps


@shared_task(name=TASK_NAMES[Job.Kind.FINALIZE_ROUND], acks_late=True)
def finalize_round(job_id: int) -> None:
    """Register versions, run the promotion gate and queue pre-labelling (annotator.rounds.steps)."""
    steps.finalize(job_id)
