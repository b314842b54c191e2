"""Distillation loss, prior correction, confidence filter and balancing."""

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.distill import distillation_loss, loss_weights, parse_prior, prior_correct, training_targets
from helpers.errors import ConfigError
from helpers.teacher import PROB_COLUMNS


def test_kd_loss_matches_hand_computed_value():
    # z = [1, 0, -1], teacher p = [.7, .2, .1], y = 0, T = 2, alpha = .5, worked by hand:
    # p_T = sqrt(p)/sum = [.52288, .27949, .19763]; q_T = softmax(z/2) = [.50648, .30720, .18632]
    # KL(p_T||q_T) = .001894, x T^2 = .007576; CE = -log(e/(e + 1 + 1/e)) = .407606
    # loss = .5 * .007576 + .5 * .407606 = .207591
    logits, labels = torch.tensor([[1.0, 0.0, -1.0]]), torch.tensor([0])
    teacher = torch.tensor([[0.7, 0.2, 0.1]])
    assert distillation_loss(logits, labels, teacher, temperature=2.0, alpha=0.5).item() == pytest.approx(0.207591, rel=1e-3)
    assert distillation_loss(logits, labels, teacher, 2.0, alpha=0.0).item() == pytest.approx(0.407606, rel=1e-4)
    assert distillation_loss(logits, labels, teacher, 2.0, alpha=1.0).item() == pytest.approx(0.007576, rel=1e-2)


def test_kd_loss_is_zero_when_student_matches_teacher_and_weights_average():
    teacher = torch.tensor([[0.6, 0.1, 0.3], [0.2, 0.2, 0.6]])
    logits = torch.log(teacher)
    assert distillation_loss(logits, torch.tensor([0, 2]), teacher, 3.0, alpha=1.0).item() == pytest.approx(0, abs=1e-6)
    per_review = [distillation_loss(logits[i:i + 1], torch.tensor([y]), None) for i, y in enumerate([0, 2])]
    weighted = distillation_loss(logits, torch.tensor([0, 2]), None, weights=torch.tensor([3.0, 1.0]))
    assert weighted.item() == pytest.approx((3 * per_review[0] + per_review[1]).item() / 4, rel=1e-6)


def test_loss_names():
    assert [loss_weights(n, 0.3) for n in ("hard", "soft", "mixed")] == [0.0, 1.0, 0.3]
    with pytest.raises(ConfigError, match="distill_loss 'kd'"):
        loss_weights("kd", 0.5)


def pool(probs, texts=None):
    probs = np.asarray(probs, dtype=np.float32)
    frame = pd.DataFrame(probs, columns=PROB_COLUMNS)
    frame.insert(0, "text", texts or [f"review {i}" for i in range(len(probs))])
    return frame


def test_prior_correction_matches_the_stated_prior_and_moves_the_argmax():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([1, 0.3, 3], size=500)  # a teacher that mostly says positive
    corrected = prior_correct(probs, parse_prior("0.5,0,0.5"))
    np.testing.assert_allclose(corrected.mean(axis=0), [0.5, 0, 0.5], atol=1e-3)
    assert (corrected.argmax(1) == 0).mean() > (probs.argmax(1) == 0).mean()
    assert prior_correct(probs, parse_prior("")) is probs
    with pytest.raises(ConfigError, match="three non-negative numbers"):
        parse_prior("0.5,0.5")


def test_confidence_filter_and_balancing():
    probs = [[0.9, 0.05, 0.05]] + [[0.05, 0.05, 0.9]] * 3 + [[0.3, 0.3, 0.4]]
    rows = training_targets(pool(probs), min_confidence=0.8)
    assert len(rows) == 4 and rows["labels"].tolist() == [0, 2, 2, 2]
    weighted = training_targets(pool(probs), min_confidence=0.8, balance="reweight")
    assert weighted.groupby("labels")["weight"].sum().to_dict() == {0: 2.0, 2: 2.0}
    resampled = training_targets(pool(probs), min_confidence=0.8, balance="resample", seed=1)
    assert resampled["labels"].value_counts().to_dict() == {0: 3, 2: 3}
    assert set(resampled["text"]) == {"review 0", "review 1", "review 2", "review 3"}
    with pytest.raises(ConfigError, match="leaves no training review"):
        training_targets(pool(probs), min_confidence=0.99)


def test_targets_never_read_true_labels():
    frame = pool([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]]).assign(label=[1, 0])
    flipped = frame.assign(label=[0, 1])
    a = training_targets(frame, "0.5,0,0.5", 0.5, "reweight")
    b = training_targets(flipped, "0.5,0,0.5", 0.5, "reweight")
    pd.testing.assert_frame_equal(a, b)


def test_keep_top_fraction_keeps_the_most_confident_of_each_class():
    probs = [[0.9, 0.05, 0.05], [0.6, 0.1, 0.3], [0.05, 0.05, 0.9], [0.1, 0.1, 0.8], [0.2, 0.2, 0.6], [0.3, 0.1, 0.6]]
    rows = training_targets(pool(probs), keep_top_fraction=0.5)
    assert rows["text"].tolist() == ["review 0", "review 2", "review 3"]  # top 1 of 2 negatives, 2 of 4 positives
    with pytest.raises(ConfigError, match="keep_top_fraction 0"):
        training_targets(pool(probs), keep_top_fraction=0)
