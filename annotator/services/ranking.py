"""Pre-labelling and active-learning ranking with the live model's fold ensemble.

Every unlabelled or pre-labelled slice gets a model-sourced revision (services.masks.save_model_prelabel,
never replacing human work) and an informativeness score (mlcore.active.slice_scores); mlcore.active.select
orders them with the chosen strategy and Slice.rank (1 = annotate first) / rank_score are written.
Slices that are no longer candidates lose their rank.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

import numpy as np
from django.db import transaction
from django.utils import timezone

from annotator.models import Job, ModelVersion, Slice, SliceState, TrainingRound
from annotator.services import jobs, registry, rounds
from annotator.services.masks import save_model_prelabel
from annotator.services.round_data import ImageLoader, channel_names, has_channels

CANDIDATE_STATES = (SliceState.UNLABELLED, SliceState.PRELABELLED)


def candidates(version: ModelVersion, channels: list[str]) -> list[Slice]:
    qs = Slice.objects.filter(series__session__subject__project=version.project, state__in=CANDIDATE_STATES)
    qs = qs.select_related("series__session__subject", "prelabel_revision").order_by("pk")
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


def prelabel_work(job: Job) -> dict[str, Any]:
    """Body of the `prelabel` job: params {version, strategy, next_batch, seed, round}."""
    from mlcore.active import select, slice_scores
    from mlcore.predict import predict_batch

    version = ModelVersion.objects.select_related("project", "training_round").get(pk=job.params["version"])
    strategy = job.params.get("strategy", "entropy")
    channels = version_channels(version)
    models = registry.load_fold_models(version)
    loader = ImageLoader(channels)
    pool = candidates(version, channels)
    jobs.report_progress(job.pk, 0.02, f"pre-labelling {len(pool)} slices with {version.label}")
    by_shape: dict[tuple[int, int], list[Slice]] = defaultdict(list)
    for slice_ in pool:
        by_shape[(slice_.height, slice_.width)].append(slice_)
    ids: list[int] = []
    score_parts: dict[str, list[np.ndarray]] = defaultdict(list)
    features: list[np.ndarray] = []
    created = done = 0
    mc = 4 if strategy == "bald" else 0
    for group in by_shape.values():
        for start in range(0, len(group), 16):
            chunk = group[start : start + 16]
            images = np.stack([loader.image(s) for s in chunk])  # (B, C, H, W)
            prediction = predict_batch(models, images)
            for slice_, labels in zip(chunk, prediction.labels, strict=True):
                previous = slice_.prelabel_revision
                if previous is None or previous.meta.get("model_version") != version.pk:
                    save_model_prelabel(
                        slice_,
                        labels,
                        {
                            "model_version": version.pk,
                            "label": version.label,
                            "round": version.training_round_id,
                            "job": job.pk,
                        },
                    )
                    created += 1
            scores = slice_scores(models, images, mc_samples=mc)
            for key in ("entropy", "margin", "bald", "disagreement"):
                score_parts[key].append(scores[key])
            features.append(scores["features"].reshape(len(chunk), -1))
            ids += [s.pk for s in chunk]
            done += len(chunk)
            if job.parent_id:  # keep the round's Job alive while it waits on this one
                Job.objects.filter(pk=job.parent_id).update(heartbeat_at=timezone.now())
            jobs.report_progress(
                job.pk, 0.05 + 0.9 * done / max(1, len(pool)), f"pre-labelled {done}/{len(pool)} slices"
            )
    ranked: list[int] = []
    score_of: dict[int, float] = {}
    if ids:
        merged = {k: np.concatenate(v) for k, v in score_parts.items()}
        same_width = len({f.shape[1] for f in features}) == 1
        feats = np.concatenate(features) if same_width else None
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
        rounds.finish_round(
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
