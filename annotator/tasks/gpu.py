"""Training and inference tasks, routed to the `gpu` queue (settings.CELERY_TASK_ROUTES).

Each takes a Job id and runs under services.jobs.run_job; the bodies live in services."""

from __future__ import annotations

from celery import shared_task

from annotator.models import Job, TrainingRound
from annotator.services import jobs, rounds
from annotator.services.ranking import prelabel_work
from annotator.services.round_training import train_fold_work


@shared_task(name="annotator.tasks.gpu.train_fold", acks_late=True)
def train_fold(job_id: int) -> None:
    """One (architecture, fold) of a round; the last one to finish enqueues the finalize step."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    rnd = TrainingRound.objects.filter(pk=job.params.get("round")).first()
    if rnd is not None and not job.is_finished:
        rounds.reopen_round_job(rnd)
    jobs.run_job(job_id, train_fold_work)
    if rnd is not None:
        rounds.maybe_finalize(rnd.pk)


@shared_task(name="annotator.tasks.gpu.prelabel", acks_late=True)
def prelabel(job_id: int) -> None:
    """Pre-label and rank every unlabelled/pre-labelled slice with a model version's fold ensemble."""
    jobs.run_job(job_id, prelabel_work)
    job = Job.objects.get(pk=job_id)
    rnd = TrainingRound.objects.filter(pk=job.params.get("round") or 0).first()
    if rnd is not None and job.state != Job.State.SUCCEEDED:
        rounds.finish_round(
            rnd,
            Job.State.FAILED if job.state == Job.State.FAILED else Job.State.CANCELLED,
            f"pre-labelling {job.state}: {job.message}",
        )
