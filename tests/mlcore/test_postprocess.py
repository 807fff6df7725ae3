"""Post-processing chosen by cross-validation: the largest foreground component per stack of slices."""

from __future__ import annotations

import numpy as np
import pytest

from mlcore import postprocess
from mlcore.data import Sample
from mlcore.train import TrainConfig, cross_validate, evaluate_postprocessing, train_fold


def spine_with_blob() -> np.ndarray:
    """(3, 20, 20): a column of two classes through all slices, a stray blob in slice 0 only."""
    vol = np.zeros((3, 20, 20), np.uint8)
    vol[:, 2:16, 8:12] = 1
    vol[:, 9:10, 8:12] = 2  # a disc inside the column: still one foreground component
    vol[0, 17:19, 1:3] = 1  # far from the spine
    return vol


def test_largest_foreground_drops_only_what_is_not_connected_to_the_main_component():
    vol = spine_with_blob()
    out = postprocess.largest_foreground(vol)
    assert out[0, 17:19, 1:3].sum() == 0
    np.testing.assert_array_equal(out[:, :16], vol[:, :16])  # the column, both classes, untouched
    assert vol[0, 17, 1] == 1  # the input is not modified


def test_a_part_joined_only_through_a_neighbouring_slice_is_kept():
    vol = np.zeros((3, 10, 10), np.uint8)
    vol[:, 0:4, 0:4] = 1
    vol[1, 4:8, 0:2] = 1  # a bridge in the middle slice ...
    vol[2, 6:8, 0:2] = 1  # ... to a piece that, within slice 2, touches nothing
    np.testing.assert_array_equal(postprocess.largest_foreground(vol), vol)


def test_runs_split_volumes_at_gaps_and_keep_index_order():
    volumes = ["a", "a", "b", "a", "a", "b"]
    indices = [3, 1, 0, 2, 7, None]
    assert postprocess.runs(volumes, indices) == [[1, 3, 0], [4], [2], [5]]


def test_slices_that_are_not_neighbours_are_processed_apart():
    big = np.zeros((20, 20), np.uint8)
    big[2:18, 8:12] = 1
    small = np.zeros((20, 20), np.uint8)
    small[0:3, 0:3] = 1
    small[10:12, 10:12] = 2
    out = postprocess.apply_to_slices("largest_foreground", [big, small], ["v", "v"], [0, 5])
    np.testing.assert_array_equal(out[0], big)
    assert out[1][0:3, 0:3].sum() == 9 and out[1][10:12, 10:12].sum() == 0  # its own largest part
    stacked = postprocess.apply_to_slices("largest_foreground", [big, small], ["v", "v"], [4, 5])
    # neighbours: the piece over the column joins it, the corner one is dropped
    assert stacked[1][0:3, 0:3].sum() == 0 and stacked[1][10:12, 10:12].sum() == 8


def test_none_changes_nothing_and_unknown_names_are_refused():
    vol = spine_with_blob()
    out = postprocess.apply_to_slices("none", list(vol), ["v"] * 3, [0, 1, 2])
    np.testing.assert_array_equal(np.stack(out), vol)
    with pytest.raises(ValueError, match="unknown postprocess 'biggest'"):
        postprocess.apply("biggest", vol)
    with pytest.raises(ValueError, match="unknown postprocess"):
        TrainConfig(arch="UD", num_classes=2, postprocess="biggest")


def _cm(tp: int, fp: int, fn: int) -> list[list[int]]:
    return [[1000, fp], [fn, tp]]


def test_decide_picks_the_post_processing_only_when_it_raises_the_cv_mean():
    names = ["background", "thing"]
    better = [{"none": _cm(50, 50, 0), "largest_foreground": _cm(50, 10, 0)} for _ in range(2)]
    worse = [{"none": _cm(50, 10, 0), "largest_foreground": _cm(30, 10, 20)} for _ in range(2)]
    chosen = postprocess.decide(better, names)
    assert chosen["chosen"] == "largest_foreground"
    assert chosen["mean_iou_fg"]["none"] == pytest.approx(0.5)
    assert chosen["mean_iou_fg"]["largest_foreground"] == pytest.approx(50 / 60)
    assert postprocess.decide(worse, names)["chosen"] == "none"
    assert postprocess.decide([{}, {}], names)["chosen"] == "none"  # folds from before it existed


def column_samples(subjects: int = 2, slices: int = 3, size: int = 32) -> list[Sample]:
    """A bright column (class 1) in every slice of each subject's volume, and in its first slice a
    bright blob that is background: a model that learns 'bright = 1' marks it, post-processing
    removes it."""
    rng = np.random.default_rng(0)
    samples = []
    for s in range(subjects):
        for j in range(slices):
            mask = np.zeros((size, size), np.int64)
            mask[4:28, 12:18] = 1
            bright = mask.astype(np.float32)
            if j == 0:
                bright[26:30, 1:5] = 1.0  # same intensity, not the column's class
            image = (bright * 2 - 1 + rng.normal(0, 0.1, (size, size))).astype(np.float32)[None]
            samples.append(Sample(f"S{s}/{j}", f"S{s}", image, mask, volume=f"S{s}", index=j))
    return samples


def tiny(**changes) -> TrainConfig:
    return TrainConfig(
        arch="UD", in_channels=1, num_classes=2, class_names=["background", "column"], epochs=1,
        steps_per_epoch=30, batch_size=4, lr=0.01, augment=False, seed=0, device="cpu",
        model_overrides={"filters": 4}, **changes,
    )  # fmt: skip


def test_a_fold_scores_the_raw_and_the_post_processed_predictions_from_one_prediction():
    samples = column_samples()
    result = train_fold(tiny(), samples[:3], samples[3:])
    assert set(result.postprocessed) == {"none", "largest_foreground"}
    np.testing.assert_array_equal(result.confusion, result.postprocessed["none"])  # the CV figure is raw
    raw, post = result.postprocessed["none"], result.postprocessed["largest_foreground"]
    assert raw.sum() == post.sum() == 3 * 32 * 32
    assert post[0, 1] < raw[0, 1]  # the blob the model marked is gone: fewer false positives
    assert post[1, 1] == raw[1, 1]  # and the column is untouched
    again = evaluate_postprocessing(result_model(result), samples[3:], result.config)
    np.testing.assert_array_equal(again["largest_foreground"], post)


def result_model(result):
    model = result.config.build()
    model.load_state_dict(result.state_dict)
    return model.eval()


def test_cross_validation_records_its_choice_in_the_report_and_the_fold_configs():
    samples = column_samples(subjects=2)
    result = cross_validate(tiny(), samples, [["S0"], ["S1"]])
    decision = result.report["postprocess"]
    assert decision["chosen"] == "largest_foreground"
    assert decision["mean_iou_fg"]["largest_foreground"] > decision["mean_iou_fg"]["none"]
    assert result.report["mean_iou_fg"]["mean"] == pytest.approx(decision["mean_iou_fg"]["none"])
    assert all(f.config.postprocess == "largest_foreground" for f in result.folds)
    fixed = cross_validate(tiny(postprocess="none"), samples, [["S0"], ["S1"]])
    assert "postprocess" not in fixed.report and fixed.folds[0].config.postprocess == "none"
