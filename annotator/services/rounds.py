"""Training rounds: launch options, the stable patient-level split, the frozen training set, and the
orchestration (one train job per (architecture, fold), then finalize, then pre-label + rank)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotator.errors import Forbidden, InvalidInput
from annotator.models import Job, Project, ProjectSplit, Slice, SliceState, TrainingRound
from annotator.services import jobs, registry, roles
from annotator.services.round_data import channel_names, lacking_channels, project_channel_choice
from mlcore.architectures import ARCHITECTURES
from mlcore.architectures import PAPER_ARCHITECTURES as PAPER_ARCHS

PAPER_ARCHITECTURES = list(PAPER_ARCHS)
STRATEGIES = ["random", "entropy", "margin", "bald", "disagreement"]
TRAIN_TASK = "annotator.tasks.gpu.train_fold"
PRELABEL_TASK = "annotator.tasks.gpu.prelabel"
FINALIZE_TASK = "annotator.tasks.rounds.finalize_round"
ALL_SUBJECTS = -1  # the `fold` of a round's final-model job


@dataclass
class RoundOptions:
    """What ML staff choose at launch (mlcore.train.TrainConfig explains the recipe's knobs)."""

    architectures: list[str] = field(default_factory=lambda: list(PAPER_ARCHITECTURES))
    folds: int = 5
    epochs: int = 20
    steps_per_epoch: int = 250
    channels: str = ""  # '' = the project's channels (Project.channels; T2w when it names none)
    strategy: str = "entropy"
    next_batch: int = 20
    filters: int | None = None
    patch_size: int | None = None
    min_spacing: float | None = None
    batch_size: int = 8
    optimiser: str = "AdamW"
    seed: int = 0
    loss: str = "dice_ce"
    augment: bool = True
    promotion_floor: float | None = None  # None -> settings.SPINELAB["PROMOTION_FLOOR"]
    # also train each architecture on every subject: the live model pre-labels with it
    final_model: bool = False


# Launch defaults per deployment (SPINELAB_ROUND_PRESET). "gpu": the paper's eight networks, 5 folds,
# 20 x 250 steps at the data's own spacing. "cpu": one network a 2-core CPU trains in about five
# minutes and still pre-labels usefully (bench/bench_demo_round.py, bench/RESULTS.md: 81 % mean
# foreground IoU on the demo's phantom in 5.3 min): UD with 16 filters, 2 folds, 2 x 250 steps of
# batch 4, slices resampled to 2.2 mm (the phantom's 256 px at ~1.1 mm become 128 px). Filters 8
# with batch 8 took 6 min for 69 % (intramuscular fat and nerve roots unlearned).
PRESETS: dict[str, dict[str, Any]] = {
    "gpu": {"final_model": True},
    "cpu": {
        "architectures": ["UD"],
        "folds": 2,
        "epochs": 2,
        "filters": 16,
        "min_spacing": 2.2,
        "batch_size": 4,
    },
}


def default_options() -> RoundOptions:
    """The launch defaults of this deployment's preset."""
    from django.conf import settings

    return RoundOptions(**PRESETS[settings.SPINELAB["ROUND_PRESET"]])


def _float(data: dict[str, Any], key: str, default: float | None, low: float, high: float) -> float | None:
    value = data.get(key, default)
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{key} must be a number, got {value!r}", field=key) from None
    if not low <= number <= high:  # also refuses nan
        raise InvalidInput(f"{key} must be between {low} and {high}, got {value!r}", field=key)
    return number


def _int(data: dict[str, Any], key: str, default: int | None, low: int, high: int) -> int | None:
    value = data.get(key, default)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{key} must be an integer, got {value!r}", field=key) from None
    if not low <= number <= high:
        raise InvalidInput(f"{key} must be between {low} and {high}, got {number}", field=key)
    return number


def parse_options(data: dict[str, Any]) -> RoundOptions:
    """Validate launch options from JSON or a form; every problem is a 400 naming the field. Missing
    options take the deployment's preset (default_options)."""
    base = default_options()
    archs = data.get("architectures") or list(base.architectures)
    if isinstance(archs, str):
        archs = [a.strip() for a in archs.split(",") if a.strip()]
    if not isinstance(archs, list) or not all(isinstance(a, str) for a in archs):
        raise InvalidInput("architectures must be a list of names", field="architectures")
    unknown = [a for a in archs if a not in ARCHITECTURES]
    if unknown:
        raise InvalidInput(
            f"unknown architectures {unknown}: choose from {sorted(ARCHITECTURES)}", field="architectures"
        )
    strategy = data.get("strategy") or "entropy"
    if strategy not in STRATEGIES:
        raise InvalidInput(
            f"unknown ranking strategy {strategy!r}: choose one of {STRATEGIES}", field="strategy"
        )
    channels = data.get("channels") or ""
    if channels:
        channel_names(channels)
    loss = data.get("loss") or "dice_ce"
    if loss not in ("ce", "dice_ce"):
        raise InvalidInput(f"loss must be 'ce' or 'dice_ce', got {loss!r}", field="loss")
    optimiser = data.get("optimiser") or base.optimiser
    if optimiser not in ("AdamW", "SGD", "paper"):
        raise InvalidInput(
            f"optimiser must be 'AdamW', 'SGD' or 'paper' (each network's own), got {optimiser!r}",
            field="optimiser",
        )
    augment = _flag(data.get("augment", True))
    final_model = _flag(data.get("final_model", base.final_model))
    return RoundOptions(
        architectures=list(dict.fromkeys(archs)),
        folds=_int(data, "folds", base.folds, 2, 20) or base.folds,
        epochs=_int(data, "epochs", base.epochs, 1, 1000) or base.epochs,
        steps_per_epoch=_int(data, "steps_per_epoch", base.steps_per_epoch, 1, 10000) or base.steps_per_epoch,
        channels=channels,
        strategy=strategy,
        next_batch=_int(data, "next_batch", 20, 1, 100000) or 20,
        filters=_int(data, "filters", base.filters, 1, 512),
        patch_size=_int(data, "patch_size", None, 16, 2048),
        min_spacing=_float(data, "min_spacing", base.min_spacing, 0.05, 20.0),
        batch_size=_int(data, "batch_size", base.batch_size, 1, 512) or base.batch_size,
        optimiser=optimiser,
        seed=_int(data, "seed", 0, 0, 2**31 - 1) or 0,
        loss=loss,
        augment=augment,
        promotion_floor=_float(data, "promotion_floor", None, 0.0, 1.0),
        final_model=final_model,
    )


def _flag(value: Any) -> bool:
    """A JSON boolean or a form's checkbox value."""
    if isinstance(value, str):
        return value.lower() in ("1", "true", "on", "yes")
    return bool(value)


# --- the stable split ---------------------------------------------------------------------------
def _tiebreak(seed: int, label: str) -> str:
    return hashlib.sha256(f"{seed}:{label}".encode()).hexdigest()


def assign_folds(assignment: dict[str, int], subjects: list[str], k: int, seed: int) -> dict[str, int]:
    """Pure: keep every existing assignment; give each new subject (in a seeded hash order) to the
    currently smallest fold (lowest index on ties). The first call uses mlcore.folds.patient_kfold."""
    result = dict(assignment)
    new = [s for s in sorted(set(subjects)) if s not in result]
    if not result and new:
        from mlcore.folds import patient_kfold

        for fold, members in enumerate(patient_kfold(new, k=k, seed=seed)):
            for subject in members:
                result[subject] = fold
        return result
    for subject in sorted(new, key=lambda s: _tiebreak(seed, s)):
        sizes = [sum(1 for f in result.values() if f == i) for i in range(k)]
        result[subject] = sizes.index(min(sizes))
    return result


def ensure_split(project: Project, k: int, seed: int, subjects: list[str]) -> ProjectSplit:
    """The project's k-fold split, created once, extended with new subjects (old ones never move)."""
    split = ProjectSplit.objects.select_for_update().filter(project=project, k=k).first()
    if split is None:
        split = ProjectSplit.objects.create(project=project, k=k, seed=seed, assignment={})
    updated = assign_folds(split.assignment, subjects, k, split.seed)
    if updated != split.assignment:
        split.assignment = updated
        split.save(update_fields=["assignment", "updated_at"])
    return split


# --- launch -------------------------------------------------------------------------------------
def accepted_training_set(project: Project, channels: list[str]) -> list[Slice]:
    """Accepted slices whose main-track head exists. One lacking a requested channel refuses the
    launch, naming the channel and the slices (never dropped silently)."""
    qs = Slice.objects.filter(
        series__session__subject__project=project,
        state=SliceState.ACCEPTED,
        head_revision__isnull=False,
        head_revision__track="main",
    ).select_related("series__session__subject", "head_revision")
    slices = list(qs.order_by("pk"))
    lacking = lacking_channels(slices, channels)
    if lacking:
        detail = "; ".join(
            f"{len(ids)} lack {channel} (slices {', '.join(map(str, ids[:10]))}{', ...' if len(ids) > 10 else ''})"
            for channel, ids in lacking.items()
        )
        raise InvalidInput(
            f"this round trains on {'+'.join(channels)}, but of the {len(slices)} accepted slices {detail}: "
            "import the missing sequence for them, or choose channels every accepted slice has",
            lacking=lacking,
        )
    return slices


def launch_round(project: Project, user: Any, options: RoundOptions) -> TrainingRound:
    """Freeze the training set and folds, create the round's Job and one gpu job per (arch, fold)."""
    if not roles.is_ml_staff(user):
        raise Forbidden("only ML staff can launch a training round")
    if not options.channels:
        options = replace(options, channels=project_channel_choice(project))
    channels = channel_names(options.channels)
    with transaction.atomic():
        slices = accepted_training_set(project, channels)
        subjects = sorted({s.series.session.subject.label for s in slices})
        if len(subjects) < options.folds:
            raise InvalidInput(
                f"{len(subjects)} subjects have accepted {'+'.join(channels)} masks ({len(slices)} slices) "
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
            kind="round",
            state=Job.State.RUNNING,
            queue="default",
            started_at=now,
            heartbeat_at=now,
            message=f"round {number}: training",
            params={"project": project.pk, "number": number},
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        rnd = TrainingRound.objects.create(
            project=project,
            number=number,
            job=job,
            split=split,
            config=asdict(options),
            folds=folds,
            revision_ids=[s.head_revision_id for s in slices],
            num_slices=len(slices),
            num_subjects=len(subjects),
            baseline=registry.live_version(project),
            created_by=job.created_by,
        )
        Job.objects.filter(pk=job.pk).update(params={**job.params, "round": rnd.pk})
        for arch in options.architectures:
            # fold ALL_SUBJECTS: the final model on every subject (no validation; CV scores come from the folds)
            final = [ALL_SUBJECTS] if options.final_model else []
            for fold in [*range(options.folds), *final]:
                jobs.create_job(
                    "train_fold",
                    task_name=TRAIN_TASK,
                    queue="gpu",
                    parent=job,
                    user=user,
                    params={"round": rnd.pk, "arch": arch, "fold": fold},
                )
    return rnd


# --- orchestration ------------------------------------------------------------------------------
def reopen_round_job(rnd: TrainingRound) -> None:
    """A retried fold job reopens its finished (not cancelled) round."""
    Job.objects.filter(pk=rnd.job_id, state__in=[Job.State.FAILED, Job.State.SUCCEEDED]).update(
        state=Job.State.RUNNING, finished_at=None, heartbeat_at=timezone.now(), message="retrying"
    )


def maybe_finalize(round_id: int) -> Job | None:
    """Called after each train job ends: the last one to finish enqueues finalize (no chords)."""
    with transaction.atomic():
        rnd = TrainingRound.objects.select_for_update().select_related("job").get(pk=round_id)
        children = Job.objects.filter(parent=rnd.job_id)
        train = children.filter(kind="train_fold")
        if train.exclude(state__in=Job.FINISHED).exists():
            return None
        finals = children.filter(kind="finalize_round")
        if finals.filter(state__in=[Job.State.QUEUED, Job.State.RUNNING]).exists():
            return None
        last_final = finals.order_by("-id").first()
        last_train = train.aggregate(t=Max("finished_at"))["t"]
        if last_final is not None and last_train is not None and last_final.created_at >= last_train:
            return None
        return jobs.create_job(
            "finalize_round",
            task_name=FINALIZE_TASK,
            queue="default",
            parent=rnd.job,
            params={"round": rnd.pk},
        )


def finish_round(rnd: TrainingRound, state: str, message: str) -> None:
    jobs.finish(rnd.job_id, state, message)
    TrainingRound.objects.filter(pk=rnd.pk).update(finished_at=timezone.now())


def cancel_round(rnd: TrainingRound, user: Any) -> Job:
    if not roles.is_ml_staff(user):
        raise Forbidden("only ML staff can cancel a training round")
    return jobs.request_cancel(rnd.job)


def enqueue_prelabel(
    version: Any,
    *,
    user: Any = None,
    strategy: str = "entropy",
    next_batch: int = 20,
    seed: int = 0,
    parent: Job | None = None,
    round_id: int | None = None,
) -> Job:
    if strategy not in STRATEGIES:
        raise InvalidInput(
            f"unknown ranking strategy {strategy!r}: choose one of {STRATEGIES}", field="strategy"
        )
    return jobs.create_job(
        "prelabel",
        task_name=PRELABEL_TASK,
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
