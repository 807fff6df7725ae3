from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mlcore.metrics import confusion_matrix, cv_report, dice_per_class, format_report, iou_per_class, mean_iou


def test_iou_of_a_tiny_prediction_matches_the_hand_computed_value():
    target = np.array([[0, 1, 1], [0, 2, 2]])
    pred = np.array([[0, 1, 2], [1, 2, 2]])
    cm = confusion_matrix(pred, target, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 1], [0, 0, 2]]
    # class 0: m=1, t=2, m_pred=1 -> 1/2; class 1: 1/(2+2-1)=1/3; class 2: 2/(2+3-2)=2/3
    np.testing.assert_allclose(iou_per_class(cm), [1 / 2, 1 / 3, 2 / 3])
    np.testing.assert_allclose(dice_per_class(cm), [2 / 3, 1 / 2, 4 / 5])
    assert mean_iou(cm) == pytest.approx((1 / 2 + 1 / 3 + 2 / 3) / 3)
    assert mean_iou(cm, include_background=False) == pytest.approx((1 / 3 + 2 / 3) / 2)


def test_confusion_is_accumulated_over_all_pixels_not_averaged_per_image():
    a = confusion_matrix(np.array([1, 1]), np.array([1, 0]), 2)
    b = confusion_matrix(np.array([0] * 8), np.array([0] * 8), 2)
    # pooled class-0 IoU is 8/9, whereas averaging the per-image IoUs would give (0 + 1) / 2
    assert iou_per_class(a + b)[0] == pytest.approx(8 / 9)


def test_perfect_prediction_scores_one_and_works_on_torch_tensors():
    target = torch.randint(0, 4, (2, 5, 6))
    cm = confusion_matrix(target.clone(), target, 4)
    assert cm.dtype == np.int64 and cm.sum() == 60
    assert mean_iou(cm) == 1.0


def test_a_class_absent_from_truth_and_prediction_is_nan_and_left_out_of_the_mean():
    target = np.array([0, 0, 2, 2])
    cm = confusion_matrix(target, target, 3)
    iou = iou_per_class(cm)
    assert math.isnan(iou[1])
    assert mean_iou(cm) == 1.0
    assert mean_iou(cm, classes=[1, 2]) == 1.0


def test_a_class_predicted_but_absent_from_truth_counts_as_zero():
    cm = confusion_matrix(np.array([0, 1]), np.array([0, 0]), 2)
    assert iou_per_class(cm)[1] == 0.0
    assert mean_iou(cm) == pytest.approx(0.25)


def test_labels_outside_the_class_range_are_named_in_the_error():
    with pytest.raises(ValueError, match=r"target has values \[7\]"):
        confusion_matrix(np.array([0, 1]), np.array([0, 7]), 3)
    with pytest.raises(ValueError, match="prediction"):
        confusion_matrix(np.array([0, -1]), np.array([0, 1]), 3)


def test_cv_report_gives_mean_and_std_over_folds_with_and_without_background():
    perfect = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 0, 1, 2]), 3)
    half = confusion_matrix(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 2]), 3)  # class 2 missed
    report = cv_report([perfect, half], ["background", "disc", "vertebra"])
    disc = report["classes"][1]
    assert disc["name"] == "disc" and disc["mean"] == pytest.approx((1 + 0.5) / 2)
    assert disc["std"] == pytest.approx(0.25)
    assert [fold["iou"][2] for fold in report["folds"]] == [1.0, 0.0]
    assert report["folds"][1]["mean_iou_fg"] == pytest.approx(0.25)
    assert report["mean_iou_all"]["mean"] > report["mean_iou_fg"]["mean"]
    table = format_report(report)
    assert "vertebra" in table and "75.0 ± 25.0" in table
    assert "mean IoU without background" in table and "mean IoU with background" in table


def test_cv_report_rejects_matrices_that_do_not_match_the_class_names():
    with pytest.raises(ValueError, match="3x3"):
        cv_report([np.zeros((2, 2), np.int64)], ["a", "b", "c"])
