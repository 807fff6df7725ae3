"""A round's Job from launch to end: reopening it when a fold job is retried, queueing finalize once
every training job has ended (no chords), queueing pre-labelling, and ending it. Every change of a
round's state goes through here; the Celery tasks only adapt (annotator/tasks/)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotator.errors import InvalidInput
from annotator.models import Job, TrainingRound
from annotator.rounds.options import STRATEGIES
from annotator.services import jobs
from annotator.users import Viewer


def reopen_round_job(rnd: TrainingRound) -> None:
    """A retried fold job reopens its finished (not cancelled) round."""
    Job.objects.filter(pk=rnd.job_id, state__in=[Job.State.FAILED, Job.State.SUCCEEDED]).update(
        state=Job.State.RUNNING, finished_at=None, heartbeat_at=timezone.now(), message="retrying"
    )


def maybe_finalize(round_id: int) -> Job | None:
    """Called after each train job ends (and by the job watch): the last one to finish enqueues
    finalize."""
    with transaction.atomic():
        rnd = TrainingRound.objects.select_for_update().select_related("job").get(pk=round_id)
        children = Job.objects.filter(parent=rnd.job_id)
        train = children.filter(kind=Job.Kind.TRAIN_FOLD)
        if train.exclude(state__in=Job.FINISHED).exists():
            return None
        finals = children.filter(kind=Job.Kind.FINALIZE_ROUND)
        if finals.filter(state__in=[Job.State.QUEUED, Job.State.RUNNING]).exists():
            return None
        last_final = finals.order_by("-id").first()
        last_train = train.aggregate(t=Max("finished_at"))["t"]
        if last_final is not None and last_train is not None and last_final.created_at >= last_train:
            return None
        return jobs.create_job(
            Job.Kind.FINALIZE_ROUND, queue="default", parent=rnd.job, params={"round": rnd.pk}
        )


def finish_round(rnd: TrainingRound, state: str, message: str) -> None:
    """End the round's Job: succeeded, failed or cancelled."""
    jobs.finish(rnd.job_id, state, message)
    TrainingRound.objects.filter(pk=rnd.pk).update(finished_at=timezone.now())


def enqueue_prelabel(
    version: Any,
    *,
    user: Viewer | None = None,
    strategy: str = "entropy",
    next_batch: int = 20,
    seed: int = 0,
    parent: Job | None = None,
    round_id: int | None = None,
) -> Job:
    """Queue pre-labelling and ranking of the project's open slices with `version`."""
    if strategy not in STRATEGIES:
        raise InvalidInput(
            f"unknown ranking strategy {strategy!r}: choose one of {STRATEGIES}", field="strategy"
        )
    return jobs.create_job(
        Job.Kind.PRELABEL,
        queue="gpu",
        parent=parent,
        user=user,
        params={
            "version": version.pk,
            "strategy": strategy,
            "next_batch": next_batch,
            "seed": seed,
            "round": round_id,
        },
    )


def round_of(job: Job) -> TrainingRound | None:
    """The round a fold, finalize or pre-label job works for (None for a pre-label outside a round)."""
    return TrainingRound.objects.filter(pk=job.params.get("round") or 0).first()
