"""Active-learning simulation with an oracle: start from a few labelled slices, add a batch per round
chosen by a strategy, retrain, and record validation IoU per round. Strategies share the seeds (and
so the same initial labelled set), which makes their learning curves comparable."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlcore import metrics
from mlcore.active import select
from mlcore.data import Sample
from mlcore.inference import prelabel_slices
from mlcore.train import FoldResult, TrainConfig, plan_for, split_by_subjects, train_fold, with_plan


def _mean_iou(confusion: np.ndarray) -> float:
    value = float(metrics.mean_iou(confusion, include_background=False))
    return value if np.isfinite(value) else 0.0


def simulate_strategy(
    cfg: TrainConfig,
    pool: list[Sample],
    val: list[Sample],
    strategy: str,
    seed: int,
    initial: int,
    batch: int,
    rounds: int,
    mc_samples: int = 4,
    diversity: bool = True,
    log: Callable[[str], None] | None = None,
    first_rounds: dict[int, FoldResult] | None = None,
) -> list[dict[str, Any]]:
    """One learning curve: [{round, labelled, mean_iou, iou}] for rounds 0..rounds.

    `first_rounds` (seed -> result) shares round 0 between strategies: they start from the same
    labelled slices with the same seed, so one training serves them all."""
    # One plan for the whole pool, fitted once, so every round presents slices the same way.
    run_cfg = with_plan(dataclasses.replace(cfg, seed=seed), plan_for(cfg, pool + val))
    order = np.random.default_rng(seed).permutation(len(pool))
    labelled = [int(i) for i in order[:initial]]  # same start for every strategy of this seed
    curve: list[dict[str, Any]] = []
    for round_no in range(rounds + 1):
        if round_no == 0 and first_rounds is not None and seed in first_rounds:
            result = first_rounds[seed]
        else:
            result = train_fold(run_cfg, [pool[i] for i in labelled], val)
            if round_no == 0 and first_rounds is not None:
                first_rounds[seed] = result
        point = dict(
            round=round_no,
            labelled=len(labelled),
            mean_iou=_mean_iou(result.confusion),
            iou=[None if not np.isfinite(v) else float(v) for v in result.iou],
        )
        curve.append(point)
        if log:
            log(
                f"seed {seed} {strategy:>12} round {round_no}: {len(labelled)} labelled, "
                f"mean IoU {point['mean_iou']:.3f}"
            )
        remaining = [i for i in range(len(pool)) if i not in set(labelled)]
        if round_no == rounds or not remaining:
            break
        scores: dict[str, np.ndarray] = {}
        features = None
        if strategy != "random":
            trained = result.config or run_cfg
            model = trained.build()
            model.load_state_dict(result.state_dict)
            plan = trained.get_plan()
            assert plan is not None
            predictions = prelabel_slices(
                [model.eval()],
                [plan],
                [pool[i].image for i in remaining],
                [pool[i].spacing for i in remaining],
                mc_samples=mc_samples if strategy == "bald" else 0,
            )
            scores = {k: np.array([p.scores[k] for p in predictions]) for k in predictions[0].scores}
            features = np.stack([p.features for p in predictions])
        ranked = select(
            remaining, scores, batch, strategy, features=features, diversity=diversity, seed=seed + round_no
        )
        labelled += [int(i) for i in ranked[:batch]]  # type: ignore[call-overload]
    return curve


def simulate(
    cfg: TrainConfig,
    samples: list[Sample],
    val_subjects: Sequence[str],
    strategies: Sequence[str],
    seeds: Sequence[int],
    initial: int,
    batch: int,
    rounds: int,
    mc_samples: int = 4,
    diversity: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Curves for every strategy averaged over seeds:
    {"curves": {strategy: [{round, labelled, mean_iou, mean_iou_std, per_seed}]}, "val_subjects", ...}."""
    pool, val = split_by_subjects([s for s in samples if s.mask is not None], val_subjects)
    if len(pool) <= initial:
        raise ValueError(f"only {len(pool)} training slices for an initial set of {initial}")
    first_rounds: dict[int, FoldResult] = {}
    runs = {
        s: [
            simulate_strategy(
                cfg, pool, val, s, seed, initial, batch, rounds, mc_samples, diversity, log, first_rounds
            )
            for seed in seeds
        ]
        for s in strategies
    }
    curves: dict[str, list[dict[str, Any]]] = {}
    for strategy, per_seed in runs.items():
        length = min(len(c) for c in per_seed)
        curves[strategy] = [
            dict(
                round=r,
                labelled=per_seed[0][r]["labelled"],
                mean_iou=float(np.mean([c[r]["mean_iou"] for c in per_seed])),
                mean_iou_std=float(np.std([c[r]["mean_iou"] for c in per_seed])),
                per_seed=[c[r]["mean_iou"] for c in per_seed],
            )
            for r in range(length)
        ]
    return dict(
        curves=curves,
        strategies=list(strategies),
        seeds=list(seeds),
        initial=initial,
        batch=batch,
        rounds=rounds,
        val_subjects=list(val_subjects),
        pool_size=len(pool),
        config=cfg.to_dict(),
    )


def format_curves(result: dict[str, Any]) -> str:
    """Plain-text table: one row per round, labelled count then mean IoU per strategy."""
    strategies = result["strategies"]
    lines = ["round  labelled  " + "  ".join(f"{s:>14}" for s in strategies)]
    for r, point in enumerate(result["curves"][strategies[0]]):
        cells = []
        for s in strategies:
            curve = result["curves"][s]
            cells.append(
                f"{curve[r]['mean_iou'] * 100:7.1f} ± {curve[r]['mean_iou_std'] * 100:4.1f}"
                if r < len(curve)
                else " " * 14
            )
        lines.append(f"{r:5d}  {point['labelled']:8d}  " + "  ".join(cells))
    return "\n".join(lines)
