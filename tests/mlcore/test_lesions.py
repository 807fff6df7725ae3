"""mlcore.lesions: connected-component lesion metrics on hand-drawn label maps."""

from __future__ import annotations

import numpy as np
import pytest

from mlcore.lesions import lesion_counts, merge_summaries, summarise


def square(labels: np.ndarray, cls: int, r: int, c: int, size: int) -> None:
    labels[r : r + size, c : c + size] = cls


def test_found_missed_and_false_lesions_are_counted_per_class():
    truth = np.zeros((40, 40), np.uint8)
    pred = np.zeros_like(truth)
    square(truth, 1, 2, 2, 6)  # found exactly
    square(pred, 1, 2, 2, 6)
    square(truth, 1, 20, 20, 6)  # missed
    square(truth, 2, 30, 2, 4)  # sclerotic, found with a rough outline (IoU 16/36)
    square(pred, 2, 30, 2, 6)
    square(pred, 1, 30, 30, 3)  # a false lytic lesion
    counts = lesion_counts(pred, truth, [1, 2])
    assert counts[1] == {"lesions": 2, "detected": 1, "false_positives": 1, "dice_sum": pytest.approx(1.0)}
    assert counts[2]["lesions"] == 1 and counts[2]["detected"] == 1 and counts[2]["false_positives"] == 0
    assert counts[2]["dice_sum"] == pytest.approx(2 * 16 / (16 + 36))


def test_a_sliver_touching_a_lesion_is_not_a_detection_below_the_iou_threshold():
    truth = np.zeros((30, 30), np.uint8)
    pred = np.zeros_like(truth)
    square(truth, 1, 5, 5, 10)
    pred[5, 5] = 1  # IoU 1/100
    assert lesion_counts(pred, truth, [1])[1]["detected"] == 0
    assert lesion_counts(pred, truth, [1], min_iou=0.0)[1]["detected"] == 1
    assert lesion_counts(pred, truth, [1])[1]["false_positives"] == 0  # it touches the lesion


def test_diagonal_neighbours_are_one_lesion_and_volumes_work_in_3d():
    truth = np.zeros((3, 10, 10), np.uint8)
    truth[0, 2, 2] = truth[1, 3, 3] = truth[2, 4, 4] = 1  # one lesion across three slices
    assert lesion_counts(truth, truth, [1])[1]["lesions"] == 1
    with pytest.raises(ValueError, match="same shape"):
        lesion_counts(truth[0], truth, [1])


def test_summaries_give_sensitivity_false_positives_per_image_and_lesion_dice():
    truth = np.zeros((20, 20), np.uint8)
    square(truth, 1, 2, 2, 4)
    empty = np.zeros_like(truth)
    false = empty.copy()
    square(false, 1, 10, 10, 3)
    images = [
        lesion_counts(truth, truth, [1, 2]),
        lesion_counts(empty, truth, [1, 2]),
        lesion_counts(false, empty, [1, 2]),
    ]
    summary = summarise(images, [1, 2])
    assert summary["images"] == 3
    lytic = summary["classes"][1]
    assert (lytic["lesions"], lytic["detected"], lytic["false_positives"]) == (2, 1, 1)
    assert lytic["sensitivity"] == 0.5 and lytic["fp_per_image"] == pytest.approx(1 / 3)
    assert lytic["lesion_dice"] == pytest.approx(0.5)
    assert summary["classes"][2]["sensitivity"] is None  # no sclerotic lesion in the truth
    merged = merge_summaries([summary, summarise(images[:1], [1, 2])])
    assert merged["images"] == 4 and merged["classes"]["1"]["lesions"] == 3
    assert merged["classes"]["1"]["sensitivity"] == pytest.approx(2 / 3)
    assert merged["classes"]["1"]["lesion_dice"] == pytest.approx(2 / 3)


def test_false_positives_are_also_counted_per_volume_across_folds():
    truth = np.zeros((20, 20), np.uint8)
    false = truth.copy()
    square(false, 1, 10, 10, 3)
    square(false, 1, 2, 2, 3)
    images = [lesion_counts(false, truth, [1]), lesion_counts(false, truth, [1])]  # 4 FPs on 2 slices
    one_volume = summarise(images, [1], volumes=1)
    assert one_volume["classes"][1]["fp_per_volume"] == 4 and one_volume["classes"][1]["fp_per_image"] == 2
    assert summarise(images, [1])["classes"][1]["fp_per_volume"] is None  # volumes unknown: not guessed
    merged = merge_summaries([one_volume, summarise(images[:1], [1], volumes=1)])
    assert merged["volumes"] == 2 and merged["classes"]["1"]["fp_per_volume"] == 3
