"""Temperature scaling: fitted on validation, folded into the saved head, so plain pipeline() is calibrated."""

import numpy as np
import pytest

from helpers.calibrate import calibration_metrics, fit_temperature, fold, rescaled
from helpers.metrics import binary_positive_probability, expected_calibration_error


def overconfident(n=4000, factor=3.0, seed=0):
    """Gold labels drawn from calibrated 2-class probabilities, and the same logits multiplied by `factor`."""
    rng = np.random.default_rng(seed)
    margin = rng.normal(0, 1.5, n)
    gold = (rng.random(n) < 1 / (1 + np.exp(-margin))).astype(int)
    logits = np.stack([-margin / 2, np.full(n, -8.0), margin / 2], axis=1) * factor
    probs = np.exp(logits - logits.max(1, keepdims=True))
    return probs / probs.sum(1, keepdims=True), gold


def test_the_fitted_temperature_undoes_overconfidence_and_lowers_the_ece():
    probs, gold = overconfident(factor=3.0)
    temperature = fit_temperature(probs, gold)
    assert temperature == pytest.approx(3.0, rel=0.15)
    before = expected_calibration_error(gold, binary_positive_probability(probs))
    after = expected_calibration_error(gold, binary_positive_probability(rescaled(probs, temperature)))
    assert after < before / 2 and after < 0.03
    record = calibration_metrics({"calibration": {"temperature": temperature}}, gold, rescaled(probs, temperature), "test")
    assert record["ece_test_before"] == pytest.approx(before, abs=1e-4) and record["ece_test_after"] == pytest.approx(after)
    assert calibration_metrics({}, gold, probs, "test") is None  # a student saved without calibration


def test_folding_the_temperature_into_the_head_is_what_pipeline_returns(tiny_teacher, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    model = AutoModelForSequenceClassification.from_pretrained(tiny_teacher).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_teacher)
    texts = ["A wonderful film.", "Dull and far too long."]
    import torch

    with torch.no_grad():
        before = torch.softmax(model(**tokenizer(texts, return_tensors="pt", padding=True)).logits, -1).numpy()
    fold(model, 0.25)  # sharper: the tiny random model is underconfident
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    scores = pipeline("text-classification", model=str(tmp_path), top_k=None)(texts)
    got = np.array([[{d["label"]: d["score"] for d in row}[name] for name in ("negative", "neutral", "positive")]
                    for row in scores])
    np.testing.assert_allclose(got, rescaled(before, 0.25), atol=1e-5)
