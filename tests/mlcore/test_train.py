"""Training, cross-validation, stopping, progress and checkpoints on tiny toy data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mlcore.checkpoint import load_checkpoint, save_checkpoint
from mlcore.cli import build_parser
from mlcore.data import Sample
from mlcore.predict import predict
from mlcore.train import (
    TrainConfig,
    TrainingStopped,
    cross_validate,
    learning_rate,
    sampling_weights,
    split_by_subjects,
    train_fold,
)


def square_samples(n_subjects: int = 4, per_subject: int = 3, size: int = 24, seed: int = 0) -> list[Sample]:
    """Toy task: a bright square (class 1) on a noisy dark background (class 0)."""
    rng = np.random.default_rng(seed)
    samples = []
    for s in range(n_subjects):
        for j in range(per_subject):
            mask = np.zeros((size, size), dtype=np.int64)
            side = int(rng.integers(size // 4, size // 2))
            y, x = rng.integers(0, size - side, size=2)
            mask[y : y + side, x : x + side] = 1
            image = (mask * 2.0 - 1.0 + rng.normal(0, 0.3, (size, size))).astype(np.float32)[None]
            samples.append(Sample(id=f"S{s}-{j}", subject=f"S{s}", image=image, mask=mask))
    return samples


def tiny_config(**changes) -> TrainConfig:
    base = TrainConfig(
        arch="UD",
        in_channels=1,
        num_classes=2,
        class_names=["background", "square"],
        epochs=4,
        steps_per_epoch=3,
        batch_size=4,
        lr=0.01,
        loss="dice_ce",
        augment=False,
        seed=0,
        device="cpu",
        model_overrides={"filters": 4},
    )
    return dataclasses.replace(base, **changes)


def test_training_on_a_learnable_toy_task_beats_chance():
    samples = square_samples()
    train, val = split_by_subjects(samples, ["S3"])
    result = train_fold(tiny_config(), train, val)
    assert result.confusion.shape == (2, 2) and result.confusion.sum() == 3 * 24 * 24
    assert result.iou[1] > 0.5  # a constant or random guess scores ~0.1-0.3 on the square
    # the reported score is the final weights' (validated once, after the last epoch), never an
    # epoch picked on the validation fold
    assert len(result.history) == 4 and result.best_epoch == 4
    assert [("val_mean_iou" in h) for h in result.history] == [False, False, False, True]
    assert result.history[-1]["val_mean_iou"] == pytest.approx(result.iou[1])


def test_epochs_have_a_fixed_number_of_steps_whatever_the_data_size():
    few, many = square_samples(n_subjects=1, per_subject=1), square_samples(n_subjects=4, per_subject=6)
    for samples in (few, many):
        calls: list[dict] = []
        train_fold(tiny_config(epochs=2, steps_per_epoch=3), samples, [], progress=calls.append)
        assert len(calls) == 6 and calls[0]["steps"] == 3


def test_a_final_model_trains_on_every_subject_without_validation():
    samples = square_samples(n_subjects=1, per_subject=2)
    result = train_fold(tiny_config(epochs=1), samples, [])
    assert result.confusion.sum() == 0 and result.config is not None and result.config.plan is not None


def test_training_is_deterministic_on_cpu_with_a_seed():
    samples = square_samples(n_subjects=2, per_subject=2)
    train, val = split_by_subjects(samples, ["S1"])
    a = train_fold(tiny_config(epochs=1), train, val)
    b = train_fold(tiny_config(epochs=1), train, val)
    assert a.history[0]["loss"] == b.history[0]["loss"]
    np.testing.assert_array_equal(a.confusion, b.confusion)


def test_cross_validation_keeps_each_subject_on_one_side_and_reports_every_class():
    samples = square_samples(n_subjects=3, per_subject=2)
    seen: list[tuple[int, str]] = []
    result = cross_validate(
        tiny_config(epochs=1),
        samples,
        [["S0"], ["S1"], ["S2"]],
        progress=lambda info: seen.append((info["fold"], "step")),
    )
    assert len(result.folds) == 3 and {f for f, _ in seen} == {0, 1, 2}
    assert {c["name"] for c in result.report["classes"]} == {"background", "square"}
    assert len(result.report["folds"]) == 3
    for fold in result.folds:
        assert fold.confusion.sum() == 2 * 24 * 24  # exactly that subject's two slices were validated
    train, val = split_by_subjects(samples, ["S0"])
    assert {s.subject for s in train}.isdisjoint({s.subject for s in val})


def test_progress_reports_steps_and_an_eta():
    calls: list[dict] = []
    samples = square_samples(n_subjects=2, per_subject=4)
    train, val = split_by_subjects(samples, ["S1"])
    train_fold(tiny_config(epochs=2, steps_per_epoch=2, batch_size=2), train, val, progress=calls.append)
    assert len(calls) == 4 and calls[-1]["epoch"] == 2 and calls[0]["steps"] == 2
    assert set(calls[0]) >= {"fold", "epoch", "epochs", "step", "steps", "loss", "eta_seconds"}
    assert calls[0]["eta_seconds"] > 0 and calls[-1]["eta_seconds"] == 0


def test_should_stop_ends_training_with_training_stopped():
    samples = square_samples(n_subjects=2, per_subject=4)
    train, val = split_by_subjects(samples, ["S1"])
    steps: list[int] = []
    with pytest.raises(TrainingStopped):
        train_fold(
            tiny_config(epochs=3, batch_size=1),
            train,
            val,
            progress=lambda i: steps.append(i["step"]),
            should_stop=lambda: len(steps) >= 2,
        )
    assert len(steps) == 2


def test_checkpoint_round_trip_gives_identical_predictions(tmp_path):
    samples = square_samples(n_subjects=2, per_subject=2)
    train, val = split_by_subjects(samples, ["S1"])
    result = train_fold(tiny_config(epochs=1), train, val)
    cfg = result.config
    assert cfg is not None and cfg.plan is not None
    path = save_checkpoint(
        tmp_path / "m" / "fold0.pt",
        result.state_dict,
        cfg,
        {"norm": {"T2w": {"mean": 1.0, "std": 2.0}}, "split": [["S1"]], "iou": result.iou},
    )
    model, loaded_cfg, extra = load_checkpoint(path)
    assert loaded_cfg == cfg and extra["split"] == [["S1"]] and extra["norm"]["T2w"]["std"] == 2.0
    original = cfg.build()
    original.load_state_dict(result.state_dict)
    np.testing.assert_array_equal(
        predict(model, val[0].image).probs, predict(original.eval(), val[0].image).probs
    )
    assert [p.name for p in tmp_path.joinpath("m").iterdir()] == ["fold0.pt"]  # no temp file left


def test_a_truncated_or_foreign_checkpoint_is_a_clear_value_error(tmp_path):
    samples = square_samples(n_subjects=2, per_subject=1)
    cfg = tiny_config(epochs=1)
    path = save_checkpoint(tmp_path / "ok.pt", cfg.build().state_dict(), cfg, {})
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load_checkpoint(tmp_path / "cut.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    assert samples  # the good file still loads
    load_checkpoint(path)


def test_config_survives_a_dict_round_trip_and_rejects_bad_values():
    cfg = tiny_config(ds_weights=[1.0, 0.5], patch_size=16)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="arch"):
        tiny_config(arch="UXYZ")
    with pytest.raises(ValueError, match="loss"):
        tiny_config(loss="hinge")
    with pytest.raises(ValueError, match="optimiser"):
        tiny_config(optimiser="Lion")
    with pytest.raises(ValueError, match="steps_per_epoch"):
        tiny_config(steps_per_epoch=0)
    with pytest.raises(ValueError, match="sampling 'volume'"):
        tiny_config(sampling="volume")
    # a first-format config (optimiser None = the network's own) still loads, sampling every slice alike
    old = {
        k: v for k, v in cfg.to_dict().items() if k not in ("plan", "steps_per_epoch", "channels", "sampling")
    }
    loaded = TrainConfig.from_dict({**old, "optimiser": None})
    assert (loaded.optimiser, loaded.sampling) == ("paper", "slice")


def test_site_sampling_draws_a_small_site_as_often_as_a_large_one_and_still_trains():
    small, large = (
        [dataclasses.replace(s, site=site, subject=site + s.subject) for s in square_samples(n, per, seed=n)]
        for site, n, per in (("A", 1, 2), ("B", 3, 4))
    )
    samples = small + large
    assert sampling_weights(samples, "slice") is None  # uniform over the 14 slices: site A gets 1/7
    by_site = sampling_weights(samples, "site")
    assert by_site is not None
    assert by_site[: len(small)].sum() == pytest.approx(0.5)
    assert by_site[len(small) :].sum() == pytest.approx(0.5)
    by_subject = sampling_weights(samples, "subject")
    assert by_subject is not None
    assert by_subject[: len(small)].sum() == pytest.approx(0.25)  # one subject of four
    a = train_fold(tiny_config(sampling="site"), samples, samples[:2])
    b = train_fold(tiny_config(sampling="site"), samples, samples[:2])
    c = train_fold(tiny_config(), samples, samples[:2])
    assert np.array_equal(a.confusion, b.confusion)  # deterministic with a seed
    assert not all(  # and another draw of slices than the default's
        torch.equal(a.state_dict[name], c.state_dict[name]) for name in a.state_dict
    )


def test_the_poly_schedule_decays_to_zero_and_cosine_to_zero_too():
    assert learning_rate(1.0, "poly", 0, 100) == 1.0 and learning_rate(1.0, "poly", 100, 100) == 0.0
    assert 0.45 < learning_rate(1.0, "poly", 50, 100) < 0.6
    assert learning_rate(1.0, "cosine", 50, 100) == pytest.approx(0.5)
    assert learning_rate(0.3, "constant", 99, 100) == 0.3


def test_the_multisite_augmentation_adds_intensity_curves_and_the_cli_offers_it():
    assert tiny_config(augment=True).augment_config().p_curve == 0.0  # not in the default recipe
    multisite = tiny_config(augment=True, augmentation="multisite")
    assert multisite.augment_config().p_curve == 0.3
    assert multisite.augment_config().p_lowres == tiny_config(augment=True).augment_config().p_lowres
    args = build_parser().parse_args(["train", "--phantom", "2", "--augmentation", "multisite"])
    assert args.augmentation == "multisite"
    with pytest.raises(ValueError, match="unknown augmentation 'multi'"):
        tiny_config(augmentation="multi").augment_config()


def test_augmentation_overrides_change_one_setting_and_a_misspelt_one_is_refused():
    cfg = tiny_config(augment=True, augment_overrides={"p_mirror": 0.5})
    assert cfg.augment_config().p_mirror == 0.5 and cfg.augment_config().p_lowres == 0.25
    assert TrainConfig.from_dict(cfg.to_dict()).augment_config().p_mirror == 0.5  # kept in checkpoints
    with pytest.raises(ValueError, match=r"unknown augmentation setting\(s\) \['p_mirrror'\]"):
        tiny_config(augment_overrides={"p_mirrror": 0.5})
