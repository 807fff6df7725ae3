"""Pre-labelling and active-learning ranking with the live model's fold ensemble.

Every unlabelled or pre-labelled slice gets a model-sourced revision (services.masks.save_model_prelabel,
never replacing human work) and an informativeness score (mlcore.inference.prelabel_slices); mlcore.active.select
orders them with the chosen strategy and Slice.rank (1 = annotate first) / rank_score are written.
Slices that are no longer candidates lose their rank.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

import numpy as np
from django.db import transaction
from django.utils import timezone

from annotator.errors import InvalidInput
from annotator.models import Assignment, Job, ModelVersion, Slice, SliceState, TrainingRound
from annotator.rounds import checkpoints, lifecycle
from annotator.rounds.data import ImageLoader, has_channels, slice_spacing
from annotator.services import jobs
from annotator.services.masks import save_model_prelabel
from annotator.services.projects import channel_names

CANDIDATE_STATES = (SliceState.UNLABELLED, SliceState.PRELABELLED)


def candidates(version: ModelVersion, channels: list[str]) -> list[Slice]:
    qs = Slice.objects.filter(series__session__subject__project=version.project, state__in=CANDIDATE_STATES)
    qs = qs.select_related("series__session__subject", "prelabel_revision").order_by("series_id", "index")
    return [s for s in qs if has_channels(s, channels)]


def version_channels(version: ModelVersion) -> list[str]:
    rnd = version.training_round
    if rnd is not None:
        return channel_names(rnd.config.get("channels", "T2w"))
    return ["T2w", "T1w"][: int(version.config.get("in_channels", 1))]


def write_ranks(ranked_ids: list[int], scores: dict[int, float], project_id: int) -> None:
    """rank 1..N in the given order; every other slice of the project loses its rank."""
    with transaction.atomic():
        Slice.objects.filter(series__session__subject__project=project_id, rank__isnull=False).exclude(
            pk__in=ranked_ids
        ).update(rank=None, rank_score=None)
        for position, slice_id in enumerate(ranked_ids, start=1):
            Slice.objects.filter(pk=slice_id).update(rank=position, rank_score=scores.get(slice_id))
        # The annotators' stored queue order follows the new ranks (one UPDATE for the project).
        Assignment.objects.filter(
            active=True, slice__series__session__subject__project=project_id
        ).refresh_queue_ranks()


def prelabel_work(job: Job) -> dict[str, Any]:
    """Body of the `prelabel` job: params {version, strategy, next_batch, seed, round}.

    One pass per fold model gives both the pre-label and the scores (mlcore.inference.prelabel_slices):
    slices are resampled to the models' plan spacing, predicted by sliding window and the
    probabilities resampled back onto each slice's own grid."""
    from mlcore.active import select
    from mlcore.inference import prelabel_slices
    from mlcore.postprocess import apply_to_slices

    version = ModelVersion.objects.select_related("project", "training_round").get(pk=job.params["version"])
    strategy = job.params.get("strategy", "entropy")
    channels = version_channels(version)
    loaded = [checkpoints.read_model(name) for name in checkpoints.inference_weights(version)]
    models = [model for model, _, _ in loaded]
    plans = [cfg.get_plan() for _, cfg, _ in loaded]
    if any(plan is None for plan in plans):
        raise InvalidInput(
            f"{version.label} was trained before preprocessing plans existed: train a new round"
        )
    loader = ImageLoader(channels)
    pool = candidates(version, channels)
    jobs.report_progress(job.pk, 0.02, f"pre-labelling {len(pool)} slices with {version.label}")
    ids: list[int] = []
    score_parts: dict[str, list[float]] = defaultdict(list)
    features: list[np.ndarray] = []
    created = done = 0
    mc = 4 if strategy == "bald" else 0
    # Post-processing chosen by the version's CV (mlcore.postprocess), on each run of neighbouring
    # candidate slices of a series: so a series is pre-labelled whole before its masks are saved.
    post = str(version.config.get("postprocess") or "none")
    series_runs: list[list[Slice]] = []
    for slice_ in pool:
        if series_runs and series_runs[-1][0].series_id == slice_.series_id:
            series_runs[-1].append(slice_)
        else:
            series_runs.append([slice_])
    for series_slices in series_runs:
        predictions = []
        for start in range(0, len(series_slices), 16):
            chunk = series_slices[start : start + 16]
            predictions += prelabel_slices(
                models,
                cast(list, plans),
                [loader.image(s) for s in chunk],
                [slice_spacing(s) for s in chunk],
                mc_samples=mc,
            )
            done += len(chunk)
            if job.parent_id:  # keep the round's Job alive while it waits on this one
                Job.objects.filter(pk=job.parent_id).update(heartbeat_at=timezone.now())
            jobs.report_progress(
                job.pk, 0.05 + 0.9 * done / max(1, len(pool)), f"pre-labelled {done}/{len(pool)} slices"
            )
        labels = apply_to_slices(
            post, [p.labels for p in predictions], [""] * len(series_slices), [s.index for s in series_slices]
        )
        for slice_, prediction, mask in zip(series_slices, predictions, labels, strict=True):
            previous = slice_.prelabel_revision
            if previous is None or previous.meta.get("model_version") != version.pk:
                save_model_prelabel(
                    slice_,
                    mask,
                    {
                        "model_version": version.pk,
                        "label": version.label,
                        "round": version.training_round_id,
                        "job": job.pk,
                        "postprocess": post,
                    },
                )
                created += 1
            for key in ("entropy", "margin", "bald", "disagreement"):
                score_parts[key].append(prediction.scores[key])
            features.append(prediction.features)
        ids += [s.pk for s in series_slices]
    ranked: list[int] = []
    score_of: dict[int, float] = {}
    if ids:
        merged = {k: np.asarray(v, dtype=np.float64) for k, v in score_parts.items()}
        feats = np.stack(features)
        ranked = [
            int(cast(int, i))
            for i in select(
                ids,
                merged,
                int(job.params.get("next_batch", 20)),
                strategy,
                features=feats,
                diversity=feats is not None,
                seed=int(job.params.get("seed", 0)),
            )
        ]
        key = strategy if strategy != "random" else "entropy"
        score_of = {i: float(v) for i, v in zip(ids, merged[key], strict=True)}
    write_ranks(ranked, score_of, version.project_id)
    round_id = job.params.get("round")
    if round_id:
        rnd = TrainingRound.objects.get(pk=round_id)
        lifecycle.finish_round(
            rnd, Job.State.SUCCEEDED, f"done: {version.label} live, {len(ranked)} slices ranked"
        )
    return {
        "version": version.pk,
        "prelabelled": created,
        "ranked": len(ranked),
        "strategy": strategy,
        "first": ranked[: int(job.params.get("next_batch", 20))],
        "at": timezone.now().isoformat(),
    }
