"""Launching and cancelling a training round: freeze the training set and the folds, then queue one
training job per (architecture, fold) on the gpu queue (annotator.rounds.lifecycle takes it from
there)."""

from __future__ import annotations

from dataclasses import asdict, replace

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotator.errors import Forbidden, InvalidInput
from annotator.models import Job, Project, TrainingRound
from annotator.rounds.options import ALL_SUBJECTS, RoundOptions
from annotator.rounds.training_set import accepted_training_set, ensure_split
from annotator.rounds.versions import live_version
from annotator.services import access, jobs
from annotator.services.projects import channel_names, project_channel_choice
from annotator.users import Viewer, signed_in


def launch_round(project: Project, user: Viewer, options: RoundOptions) -> TrainingRound:
    """Freeze the training set and folds, create the round's Job and one gpu job per (arch, fold)."""
    if not access.can_train(user):
        raise Forbidden("only ML staff can launch a training round")
    if not options.channels:
        options = replace(options, channels=project_channel_choice(project))
    channels = channel_names(options.channels)
    with transaction.atomic():
        revisions = accepted_training_set(project, channels)
        subjects = sorted({r.slice.series.session.subject.label for r in revisions})
        if len(subjects) < options.folds:
            raise InvalidInput(
                f"{len(subjects)} subjects have accepted {'+'.join(channels)} masks ({len(revisions)} slices) "
                f"but {options.folds} folds need at least {options.folds} subjects: lower folds or accept more",
                subjects=len(subjects),
                folds=options.folds,
            )
        split = ensure_split(project, options.folds, options.seed, subjects)
        folds = [[s for s in subjects if split.assignment[s] == f] for f in range(options.folds)]
        empty = [f for f, members in enumerate(folds) if not members]
        if empty:
            raise InvalidInput(
                f"folds {empty} of the project's saved {options.folds}-fold split have no subject with accepted "
                f"masks yet; accept masks of more subjects or choose fewer folds",
                empty_folds=empty,
            )
        number = (TrainingRound.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0) + 1
        now = timezone.now()
        job = Job.objects.create(
            kind=Job.Kind.ROUND,
            state=Job.State.RUNNING,
            queue="default",
            started_at=now,
            heartbeat_at=now,
            message=f"round {number}: training",
            params={"project": project.pk, "number": number},
            created_by=signed_in(user),
        )
        rnd = TrainingRound.objects.create(
            project=project,
            number=number,
            job=job,
            split=split,
            config=asdict(options),
            folds=folds,
            revision_ids=[r.pk for r in revisions],
            num_slices=len(revisions),
            num_subjects=len(subjects),
            baseline=live_version(project),
            created_by=job.created_by,
        )
        Job.objects.filter(pk=job.pk).update(params={**job.params, "round": rnd.pk})
        for arch in options.architectures:
            # fold ALL_SUBJECTS: the final model on every subject (no validation; CV scores come from the folds)
            final = [ALL_SUBJECTS] if options.final_model else []
            for fold in [*range(options.folds), *final]:
                jobs.create_job(
                    Job.Kind.TRAIN_FOLD,
                    queue="gpu",
                    parent=job,
                    user=user,
                    params={"round": rnd.pk, "arch": arch, "fold": fold},
                )
    return rnd


def cancel_round(rnd: TrainingRound, user: Viewer) -> Job:
    if not access.can_train(user):
        raise Forbidden("only ML staff can cancel a training round")
    return jobs.request_cancel(rnd.job)
