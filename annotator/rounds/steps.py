"""The steps of a round as the Celery tasks run them (annotator/tasks/ only adapts): each runs its
work under the Job protocol (services.jobs.run_job) and then moves the round on or ends it."""

from __future__ import annotations

from annotator.models import Job
from annotator.rounds import lifecycle
from annotator.rounds.ranking import prelabel_work
from annotator.rounds.training import finalize_work, train_fold_work
from annotator.services import jobs


def train_fold(job_id: int) -> None:
    """One (architecture, fold) of a round; the last one to finish queues the finalize step."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    rnd = lifecycle.round_of(job)
    if rnd is not None and not job.is_finished:
        lifecycle.reopen_round_job(rnd)
    jobs.run_job(job_id, train_fold_work)
    if rnd is not None:
        lifecycle.maybe_finalize(rnd.pk)


def finalize(job_id: int) -> None:
    """Register versions, run the promotion gate and queue pre-labelling; a failure ends the round."""
    jobs.run_job(job_id, finalize_work)
    job = Job.objects.get(pk=job_id)
    rnd = lifecycle.round_of(job)
    if rnd is not None and job.state == Job.State.FAILED:
        lifecycle.finish_round(rnd, Job.State.FAILED, f"finalize failed: {job.message}")


def prelabel(job_id: int) -> None:
    """Pre-label and rank with a model version; a failed or cancelled pre-label ends its round."""
    jobs.run_job(job_id, prelabel_work)
    job = Job.objects.get(pk=job_id)
    rnd = lifecycle.round_of(job)
    if rnd is not None and job.state != Job.State.SUCCEEDED:
        lifecycle.finish_round(
            rnd,
            Job.State.FAILED if job.state == Job.State.FAILED else Job.State.CANCELLED,
            f"pre-labelling {job.state}: {job.message}",
        )
