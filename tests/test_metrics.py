"""Bootstrap interval, calibration error, mappings and the length breakdown."""

import numpy as np
import pytest

from helpers.metrics import bootstrap_ci, expected_calibration_error, majority_probs, score, to_binary


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_n():
    rng = np.random.default_rng(0)
    small, large = rng.random(200) < 0.8, rng.random(5000) < 0.8
    lo, hi = bootstrap_ci(small)
    assert lo < small.mean() < hi
    lo_l, hi_l = bootstrap_ci(large)
    assert hi_l - lo_l < hi - lo
    # binomial standard error at n = 5000, p = .8 is .00566, so the 95% interval is about +/- .0111
    assert (hi_l - lo_l) / 2 == pytest.approx(1.96 * np.sqrt(0.8 * 0.2 / 5000), rel=0.15)
    assert bootstrap_ci(small, seed=3) == bootstrap_ci(small, seed=3)


def test_ece_is_zero_when_calibrated_and_large_when_overconfident():
    gold = np.array([1] * 8 + [0] * 2)
    assert expected_calibration_error(gold, np.full(10, 0.8)) == pytest.approx(0.0)
    # always 99% sure of positive, right only 50% of the time: ECE = |0.5 - 0.99|
    assert expected_calibration_error(np.array([1, 0] * 5), np.full(10, 0.99)) == pytest.approx(0.49)


def test_both_mappings():
    probs = np.array([[0.5, 0.3, 0.2],   # argmax negative -> 0 under both
                      [0.3, 0.5, 0.2],   # neutral: positive under the original, negative by pos-vs-neg
                      [0.1, 0.2, 0.7]])
    assert to_binary(probs).tolist() == [0, 1, 1]
    assert to_binary(probs, "pos_vs_neg").tolist() == [0, 0, 1]


def test_score_reports_every_figure():
    gold = np.array([0, 1, 1, 0])
    probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2], [0.2, 0.1, 0.7]])
    result = score(gold, probs, teacher_probs=probs[[0, 1, 3, 2]], texts=["short"] * 3 + ["word " * 400])
    assert result["accuracy"] == 0.5 and result["confusion_matrix"] == [[1, 1], [1, 1]]
    assert result["agreement_with_teacher"] == 0.5
    assert result["accuracy_by_length"] == {"1-150": {"n": 3, "accuracy": 2 / 3}, "301-500": {"n": 1, "accuracy": 0.0}}
    assert majority_probs(np.array([0, 1]), 2).argmax(1).tolist() == [2, 2]  # tie -> positive
