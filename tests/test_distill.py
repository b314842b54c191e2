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
    # a plain mean of weighted losses: the weights themselves average 1 over the data set (see reweight)
    assert weighted.item() == pytest.approx((3 * per_review[0] + per_review[1]).item() / 2, rel=1e-6)


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


def test_keep_top_fraction_never_empties_a_small_class():
    probs = [[0.9, 0.05, 0.05]] * 3 + [[0.05, 0.05, 0.9]] * 20  # 3 negatives: 20% of them rounds down to 0
    rows = training_targets(pool(probs), keep_top_fraction=0.2)
    assert rows["labels"].value_counts().to_dict() == {2: 4, 0: 1}


def test_reweight_gives_each_class_half_of_the_loss_over_batches():
    probs = [[0.9, 0.05, 0.05]] * 4 + [[0.05, 0.05, 0.9]] * 16  # 20% negative
    rows = training_targets(pool(probs), balance="reweight")
    weights = torch.tensor(rows["weight"].to_numpy(), dtype=torch.float32)
    assert weights.mean().item() == pytest.approx(1.0)
    labels = torch.tensor(rows["labels"].to_numpy())
    logits = torch.tensor([[2.0, 0.0, 0.0]]).repeat(len(rows), 1)  # cheap to call negative, dear to call positive
    per_review = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(0))
    batches = [order[i:i + 4] for i in range(0, len(rows), 4)]  # an epoch of batches of 4, as the Trainer does
    epoch = torch.stack([distillation_loss(logits[b], labels[b], None, weights=weights[b]) for b in batches]).mean()
    negative = labels == 0
    # each class contributes half of the weight, so the epoch loss is the mean of the two classes' losses
    expected = 0.5 * per_review[negative].mean() + 0.5 * per_review[~negative].mean()
    assert epoch.item() == pytest.approx(expected.item(), rel=1e-5)


def test_a_class_removed_by_the_prior_gets_no_soft_target():
    # p = [.5, 0, .5] at T = 5: the target stays [.5, 0, .5]; against uniform logits the soft term is
    # T^2 * sum p log(p / (1/3)) = 25 * log(1.5) = 10.1366 (a clamp at 1e-8 would leak .014 into neutral)
    logits, labels, teacher = torch.zeros(1, 3), torch.tensor([0]), torch.tensor([[0.5, 0.0, 0.5]])
    loss = distillation_loss(logits, labels, teacher, temperature=5.0, alpha=1.0)
    assert loss.item() == pytest.approx(25 * np.log(1.5), rel=1e-5)


def test_rest_fraction_adds_unclear_reviews_that_learn_the_teachers_probabilities_only():
    probs = [[0.9, 0.05, 0.05], [0.6, 0.1, 0.3], [0.55, 0.1, 0.35], [0.05, 0.05, 0.9], [0.3, 0.1, 0.6], [0.4, 0.1, 0.5]]
    top = training_targets(pool(probs), keep_top_fraction=0.3)
    assert "hard" not in top and top["text"].tolist() == ["review 0", "review 3"]  # the default: the top alone
    rows = training_targets(pool(probs), keep_top_fraction=0.3, rest_fraction=1.0)
    assert dict(zip(rows["text"], rows["hard"])) == {"review 0": 1.0, "review 3": 1.0, "review 1": 0.0,
                                                     "review 2": 0.0, "review 4": 0.0, "review 5": 0.0}
    half = training_targets(pool(probs), keep_top_fraction=0.3, rest_fraction=0.5, seed=3)
    assert (half["hard"] == 1).sum() == 2 and (half["hard"] == 0).sum() == 2  # a seeded half of the four unclear
    with pytest.raises(ConfigError, match="rest_fraction 1.5"):
        training_targets(pool(probs), rest_fraction=1.5)


def test_the_rest_is_drawn_by_the_seed():
    """The same seed draws the same rest; another seed another one (a sweep's seeds vary it)."""
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 0.95, 200)
    probs = np.stack([confidence, np.zeros(200), 1 - confidence], axis=1)
    rest = lambda seed: set(training_targets(pool(probs), keep_top_fraction=0.2, rest_fraction=0.25, seed=seed)
                            .query("hard == 0")["text"])
    assert len(rest(3)) == 40 and rest(3) == rest(3)  # a quarter of the 160 outside the top, drawn again alike
    assert rest(3) != rest(4) and len(rest(3) & rest(4)) < 30  # another seed: another draw, not a shifted one


def test_a_rest_with_every_review_in_the_top_is_refused_in_one_line():
    """At keep_top_fraction 1 there is no rest: rest_fraction did nothing, silently."""
    probs = [[0.9, 0.05, 0.05], [0.6, 0.1, 0.3], [0.05, 0.05, 0.9], [0.3, 0.1, 0.6]]
    with pytest.raises(ConfigError, match="rest_fraction 0.5 needs keep_top_fraction below 1"):
        training_targets(pool(probs), keep_top_fraction=1.0, rest_fraction=0.5)
    assert len(training_targets(pool(probs), keep_top_fraction=1.0, rest_fraction=0.0)) == 4


def test_a_review_outside_the_top_has_no_hard_term_whatever_its_label():
    logits, teacher = torch.tensor([[1.0, 0.0, -1.0]] * 2), torch.tensor([[0.45, 0.1, 0.45]] * 2)
    hard = torch.tensor([1.0, 0.0])
    per_label = [distillation_loss(logits, torch.tensor([y, y]), teacher, 2.0, alpha=0.5, hard=hard,
                                   weights=torch.tensor([0.0, 2.0])) for y in (0, 2)]
    assert per_label[0].item() == pytest.approx(per_label[1].item())  # the unclear review's label is not read
    soft_only = distillation_loss(logits[:1], torch.tensor([0]), teacher[:1], 2.0, alpha=1.0)
    assert per_label[0].item() == pytest.approx(soft_only.item(), rel=1e-6)
    mixed = distillation_loss(logits, torch.tensor([0, 0]), teacher, 2.0, alpha=0.5, hard=hard,
                              weights=torch.tensor([2.0, 0.0]))
    assert mixed.item() == pytest.approx(distillation_loss(logits[:1], torch.tensor([0]), teacher[:1], 2.0, 0.5).item())


def test_targets_preview_shows_each_learned_label_even_when_one_dominates():
    from helpers.distill import targets_preview

    labels = [0] * 95 + [2] * 5  # a plain sample of 6 would likely show negatives only
    rows = pd.DataFrame({"text": [f"review {i}" for i in range(100)], "labels": labels,
                         "teacher_probs": [np.array([0.9, 0.0, 0.1]) if y == 0 else np.array([0.1, 0.0, 0.9])
                                           for y in labels], "weight": 1.0})
    rows = pd.concat([rows, rows[rows["labels"] == 2]] * 3)  # balancing repeats the positives: shown once each
    preview = targets_preview(rows, n=6, seed=0)
    assert preview["learns"].value_counts().to_dict() == {"negative": 3, "positive": 3}
    assert preview["review (start)"].is_unique
    assert list(preview.columns) == ["review (start)", "learns", "teacher p(negative)", "teacher p(positive)", "weight"]
