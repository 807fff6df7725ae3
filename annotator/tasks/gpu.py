"""Training and inference tasks, routed to the `gpu` queue (settings.CELERY_TASK_ROUTES).

Each takes a Job id; the round's steps (annotator.rounds.steps) do the work and move the round on."""

from __future__ import annotations

from celery import shared_task

from annotator.models.jobs import TASK_NAMES, Job
from annotator.rounds import steps


@shared_task(name=TASK_NAMES[Job.Kind.TRAIN_FOLD], acks_late=True)
def train_fold(job_id: int) -> None:
    """One (architecture, fold) of a round; the last one to finish enqueues the finalize step."""
    steps.train_fold(job_id)


@shared_task(name=TASK_NAMES[Job.Kind.PRELABEL], acks_late=True)
def prelabel(job_id: int) -> None:
    """Pre-label and rank every unlabelled/pre-labelled slice with a model version."""
    steps.prelabel(job_id)
