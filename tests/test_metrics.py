"""Bootstrap interval, calibration error, mappings and the length breakdown."""

import numpy as np
import pytest

from helpers.metrics import (binary_positive_probability, bootstrap_ci, expected_calibration_error, majority_probs,
                             mcnemar_exact, paired_comparison, score, to_binary)


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
    probs = np.array([[0.45, 0.35, 0.2],  # argmax negative, but neutral + positive = .55: positive
                      [0.6, 0.3, 0.1],   # negative under both
                      [0.3, 0.5, 0.2],   # neutral: positive under the original, negative by pos-vs-neg
                      [0.1, 0.2, 0.7]])
    assert to_binary(probs).tolist() == [1, 0, 1, 1]
    assert to_binary(probs, "pos_vs_neg").tolist() == [0, 0, 0, 1]


def test_accuracy_and_calibration_use_one_decision_rule():
    # argmax says negative, but neutral + positive = .595: positive, for accuracy and for ECE alike
    probs = np.array([[0.405, 0.359, 0.236]])
    assert to_binary(probs).tolist() == [1]
    assert expected_calibration_error(np.array([1]), binary_positive_probability(probs)) == pytest.approx(1 - 0.595)
    rng = np.random.default_rng(1)
    many = rng.dirichlet([1, 1, 1], size=2000)
    np.testing.assert_array_equal(to_binary(many), (binary_positive_probability(many) >= 0.5).astype(int))
    assert score(np.ones(1, int), probs)["accuracy"] == 1.0


def test_mcnemar_exact_against_hand_computed_values():
    assert mcnemar_exact(1, 5) == pytest.approx(2 * (1 + 6) / 2 ** 6)  # 0.21875
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 2 ** 10)
    assert mcnemar_exact(3, 3) == 1.0 and mcnemar_exact(0, 0) == 1.0


def test_paired_bootstrap_against_hand_computed_values():
    gold = np.ones(100, int)
    first = np.ones(100, int)
    second = np.array([1] * 50 + [0] * 50)  # the first model is right on 50 more reviews: difference .5
    result = paired_comparison(gold, first, second, resamples=4000)
    assert result["difference"] == 0.5 and result["only_first_correct"] == 50 and result["only_second_correct"] == 0
    # per-review differences are 50 ones and 50 zeros: the mean's sd is sqrt(.25 / 100) = .05, 95%: .5 -/+ .098
    low, high = result["difference_ci95"]
    assert low == pytest.approx(0.5 - 1.96 * 0.05, abs=0.015) and high == pytest.approx(0.5 + 1.96 * 0.05, abs=0.015)
    assert result["mcnemar_p"] == pytest.approx(2 / 2 ** 50)
    same = paired_comparison(gold, second, second)
    assert same["difference"] == 0 and same["difference_ci95"] == [0.0, 0.0] and same["mcnemar_p"] == 1.0


def test_paired_interval_is_narrower_than_unpaired_for_similar_models():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 2000)
    first = np.where(rng.random(2000) < 0.8, gold, 1 - gold)
    second = np.where(rng.random(2000) < 0.05, 1 - first, first)  # disagrees with the first on 5% only
    low, high = paired_comparison(gold, first, second)["difference_ci95"]
    unpaired = 1.96 * np.sqrt(2 * 0.8 * 0.2 / 2000)  # as if the two were scored on different reviews
    assert (high - low) / 2 < unpaired / 2


def test_score_reports_every_figure():
    gold = np.array([0, 1, 1, 0])
    probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2], [0.2, 0.1, 0.7]])
    result = score(gold, probs, teacher_probs=probs[[0, 1, 3, 2]], texts=["short"] * 3 + ["word " * 400])
    assert result["accuracy"] == 0.5 and result["confusion_matrix"] == [[1, 1], [1, 1]]
    assert result["agreement_with_teacher"] == 0.5
    assert result["accuracy_by_length"] == {"1-150": {"n": 3, "accuracy": 2 / 3}, "301-500": {"n": 1, "accuracy": 0.0}}
    assert majority_probs(np.array([0, 1]), 2).argmax(1).tolist() == [2, 2]  # tie -> positive


def test_a_model_that_gives_one_class_to_95_percent_of_a_set_is_called_collapsed():
    import numpy as np

    from helpers.evaluate import run_metrics
    from helpers.metrics import score

    gold = np.array([0, 1] * 200)
    negative = np.tile(np.float32([0.9, 0.05, 0.05]), (400, 1))
    sound = np.eye(3, dtype=np.float32)[np.where(gold == 1, 2, 0)]
    test = {"n": 400, "models": {"majority": score(gold, negative), "student": score(gold, negative),
                                 "teacher": score(gold, sound)}, "comparisons": {}}
    metrics = run_metrics("r", test, None, {})
    assert metrics["notes"] == ["student calls 100% of the 400 test reviews negative: it has collapsed to one class"]
    from helpers.report import results_markdown

    assert "**Note:** student calls 100% of the 400 test reviews negative" in results_markdown(metrics, [], None)
    almost = negative.copy()
    almost[np.flatnonzero(gold == 1)[:30]] = [0.05, 0.05, 0.9]  # 370 of 400 negative: 92.5%, not collapsed
    assert run_metrics("r", {"n": 400, "models": {"student": score(gold, almost)}, "comparisons": {}}, None, {})["notes"] == []


def test_the_precision_line_says_what_the_teachers_models_ran_at():
    """An older run's metrics say 'teacher n/a' for a teacher of label sources whose zero-shot encoder ran at bf16;
    the run's teacher record (teacher.json, kept in its student's training.json) says what it ran at."""
    from helpers.metrics import precision_line

    older = {"precision": {"teacher": {"precision": "n/a"}, "student": {"precision": "bf16"}},
             "training_precision": {"student": "bf16"}}
    sources = {"teacher": "sources", "sources": [{"source": "vader_sentences"}, {"source": "zeroshot", "precision": "bf16"},
                                                 {"source": "rating"}]}
    assert precision_line(older, sources) == "scoring: teacher (zeroshot bf16), student bf16; training: student bf16"
    assert precision_line(older, {"teacher": "cardiffnlp/x", "precision": "fp16"}).startswith("scoring: teacher fp16,")
    assert precision_line(older, {"teacher": "vader"}).startswith("scoring: teacher n/a,")  # VADER runs no model
    assert precision_line(older, "none (true labels)").startswith("scoring: teacher n/a,")
    recorded = {**older, "precision": {**older["precision"], "teacher": {"precision": "zeroshot bf16, model fp32"}}}
    assert precision_line(recorded).startswith("scoring: teacher (zeroshot bf16, model fp32), student bf16")
