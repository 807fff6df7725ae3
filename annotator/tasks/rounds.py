"""Light round orchestration on the default queue: the finalize step after all training jobs."""

from __future__ import annotations

from celery import shared_task

from annotator.models import Job, TrainingRound
from annotator.services import jobs, rounds
from annotator.services.round_training import finalize_work


@shared_task(name="annotator.tasks.rounds.finalize_round", acks_late=True)
def finalize_round(job_id: int) -> None:
    """Register versions, run the promotion gate and queue pre-labelling (see round_training)."""
    jobs.run_job(job_id, finalize_work)
    job = Job.objects.get(pk=job_id)
    rnd = TrainingRound.objects.filter(pk=job.params.get("round") or 0).first()
    if rnd is not None and job.state == Job.State.FAILED:
        rounds.finish_round(rnd, Job.State.FAILED, f"finalize failed: {job.message}")
