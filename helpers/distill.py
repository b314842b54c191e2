"""Turning teacher annotations into training targets, and the distillation loss.

Nothing here reads a ground-truth label: the targets come from the teacher's probabilities alone, and from a
class prior the user states.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from transformers import Trainer

from .errors import ConfigError
from .teacher import CLASSES, PROB_COLUMNS

LOSSES = ("hard", "soft", "mixed")
BALANCING = ("none", "resample", "reweight")


def parse_prior(text: str) -> np.ndarray | None:
    """'0.5,0,0.5' (negative, neutral, positive) -> a normalised array; '' -> None (no correction)."""
    if not text.strip():
        return None
    try:
        prior = np.array([float(x) for x in text.split(",")])
    except ValueError:
        prior = np.array([])
    if prior.shape != (len(CLASSES),) or (prior < 0).any() or prior.sum() <= 0:
        raise ConfigError(f"class_prior {text!r} must be three non-negative numbers for "
                          f"{','.join(CLASSES)}, e.g. '0.5,0,0.5'")
    return prior / prior.sum()


def prior_correct(probs: np.ndarray, prior: np.ndarray | None, iterations: int = 100) -> np.ndarray:
    """Shift the teacher's distribution toward `prior`: add per-class log-biases until the mean matches it.

    q(y|x) is proportional to p(y|x) * exp(b_y), with b fitted on this pool so that mean_x q(y|x) = prior_y
    (iterative proportional fitting); a class with prior 0 is removed. With a well-calibrated teacher this is
    the label-shift correction of Saerens et al. (2002); it also moves the argmax of a saturated teacher.
    """
    if prior is None or len(probs) == 0:
        return probs
    keep = prior > 0
    log_p = np.log(np.clip(probs, 1e-12, 1.0))
    bias = np.zeros(len(prior))
    for _ in range(iterations):
        logits = np.where(keep, log_p + bias, -np.inf)
        q = np.exp(logits - logits.max(axis=1, keepdims=True))
        q /= q.sum(axis=1, keepdims=True)
        bias[keep] += np.log(prior[keep] / np.clip(q.mean(axis=0)[keep], 1e-12, None))
    return q.astype(np.float32)


def decided(probs: np.ndarray) -> np.ndarray:
    """True where one class alone has the top probability (no tie between the two largest)."""
    top_two = np.sort(probs, axis=1)[:, -2:]
    return top_two[:, 1] - top_two[:, 0] > 1e-6


def training_targets(pool: pd.DataFrame, class_prior: str = "", min_confidence: float = 0.0,
                     balance: str = "none", seed: int = 42, keep_top_fraction: float = 1.0,
                     rest_fraction: float = 0.0) -> pd.DataFrame:
    """The teacher-labelled pool as training rows: `text`, `labels` (argmax), `teacher_probs`, `weight`, and with
    `rest_fraction` > 0 `hard` (1: the row learns the loss asked for; 0: the teacher's probabilities only).

    In order: leaving out the reviews the teacher could not decide (two classes tie for the top: e.g. a teacher of
    label sources where every source abstains; they carry no signal, and argmax would call them negative); prior
    correction; dropping rows whose top probability is below `min_confidence`; keeping, within
    each teacher class, the `keep_top_fraction` most confident rows (a biased teacher is confident on different
    scales per class, so one threshold would empty a class), plus a seeded `rest_fraction` of the rows outside that
    top, to learn the teacher's probabilities only (`hard` 0: a student that never sees an unclear review never
    learns to say it is unsure, and its probabilities pile up at the targets of the clear ones); then balancing negative vs positive (IMDB has no
    neutral class, so neutral rows keep weight 1): `resample` draws the smaller class with replacement up to
    the larger one's count, `reweight` weights each inversely to its count (the weights average 1 over the
    rows, so a batch's loss is a plain mean of weighted losses: the classes weigh the same in expectation).
    A class keeps at least one row under `keep_top_fraction` (its share is rounded up); `rest_fraction` with
    `keep_top_fraction` 1 is refused (there is no rest).
    """
    if balance not in BALANCING:
        raise ConfigError(f"balance {balance!r} is not one of {BALANCING}")
    if not 0 < keep_top_fraction <= 1:
        raise ConfigError(f"keep_top_fraction {keep_top_fraction} must be in (0, 1]")
    if not 0 <= rest_fraction <= 1:
        raise ConfigError(f"rest_fraction {rest_fraction} must be in [0, 1]")
    if rest_fraction and keep_top_fraction == 1:  # the top is every row: no rest to draw from
        raise ConfigError(f"rest_fraction {rest_fraction} needs keep_top_fraction below 1 (at 1 every review is in the "
                          "top and there is no rest): lower keep_top_fraction, or set rest_fraction 0")
    pool = pool[decided(pool[PROB_COLUMNS].to_numpy(np.float32))]
    probs = prior_correct(pool[PROB_COLUMNS].to_numpy(np.float32), parse_prior(class_prior))
    rows = pd.DataFrame({"text": pool["text"].to_numpy(), "labels": probs.argmax(axis=1),
                         "teacher_probs": list(probs), "weight": 1.0, "confidence": probs.max(axis=1)})
    rows = rows[rows["confidence"] >= min_confidence]
    rank = rows.groupby("labels")["confidence"].rank(ascending=False, method="first")
    quota = np.ceil(rows.groupby("labels")["labels"].transform("size") * keep_top_fraction)  # >= 1 per class
    top = rank <= quota
    if rest_fraction > 0:
        rest = rows[~top].sample(frac=rest_fraction, random_state=seed)
        rows = pd.concat([rows[top].assign(hard=1.0), rest.assign(hard=0.0)])
    else:
        rows = rows[top]
    rows = rows.drop(columns="confidence").reset_index(drop=True)
    if rows.empty:
        raise ConfigError(f"min_confidence {min_confidence} leaves no training review: lower it")
    polar = [CLASSES.index("negative"), CLASSES.index("positive")]
    counts = rows["labels"].value_counts()
    present = [c for c in polar if counts.get(c, 0) > 0]
    if balance == "reweight" and len(present) == 2:
        target = sum(counts[c] for c in present) / 2
        rows["weight"] = [target / counts[y] if y in present else 1.0 for y in rows["labels"]]
    elif balance == "resample" and len(present) == 2:
        small, large = sorted(present, key=lambda c: counts[c])
        extra = rows[rows["labels"] == small].sample(counts[large] - counts[small], replace=True, random_state=seed)
        rows = pd.concat([rows, extra]).sample(frac=1, random_state=seed).reset_index(drop=True)
    return rows


NEEDS_RATING_SOURCE = ("stated_rating_epochs needs the teacher's `rating` source (teacher_sources=...,rating): without it "
                       "no review is known to state a rating")


def states_rating(pool: pd.DataFrame) -> pd.Series:
    """Which of `pool`'s reviews the teacher's rating source read a decisive rating in (`read_reviews` keeps '' for none)."""
    return pd.to_numeric(pool["source_rating"], errors="coerce").notna()


def stated_rating_rows(pool: pd.DataFrame, balance: str = "none", seed: int = 42) -> pd.DataFrame:
    """Training rows of the pool reviews whose stated rating the teacher's `rating` source read (`source_rating`
    set), each with the teacher's targets there (the rating overrides the other sources; no prior shift: a rating has
    its own zero, and a shift fitted on these few reviews could turn a 7/10 negative), every one kept whatever its
    confidence (a 4/10 or a 7/10 is as right as a 1/10), and read with the rating cut out (`without_rating`), so the
    student learns the review's words rather than its number. No such review: no rows."""
    from .sources.rating import without_rating

    if "source_rating" not in pool:
        raise ConfigError(NEEDS_RATING_SOURCE)
    stated = pool[states_rating(pool)]
    if stated.empty:
        return pd.DataFrame(columns=["text", "labels", "teacher_probs", "weight"])
    rows = training_targets(stated, balance=balance, seed=seed)
    return rows.assign(text=rows["text"].map(without_rating))


def targets_preview(rows: pd.DataFrame, n: int = 6, seed: int = 42, width: int = 90) -> pd.DataFrame:
    """A seeded handful of training rows as a reader sees them, the same number of each label the student learns
    (a plain sample can show one class only): the review's start, that label, the teacher's probabilities behind
    it and the row's weight."""
    per_label = max(1, n // rows["labels"].nunique())
    distinct = rows.drop_duplicates("text")  # balancing by resampling repeats reviews
    shown = pd.concat(group.sample(min(per_label, len(group)), random_state=seed)
                      for _, group in distinct.groupby("labels"))
    probs = np.stack(shown["teacher_probs"].to_numpy())
    return pd.DataFrame({"review (start)": shown["text"].str.slice(0, width) + "...",
                         "learns": [CLASSES[i] for i in shown["labels"]],
                         **{f"teacher p({name})": probs[:, i].round(3) for i, name in enumerate(CLASSES)
                            if probs[:, i].any()},
                         "weight": shown["weight"].round(2)}).reset_index(drop=True)


def distillation_loss(logits: torch.Tensor, labels: torch.Tensor, teacher_probs: torch.Tensor | None,
                      temperature: float = 2.0, alpha: float = 0.5, weights: torch.Tensor | None = None,
                      hard: torch.Tensor | None = None) -> torch.Tensor:
    """alpha * T^2 * KL(p_T || softmax(z / T)) + (1 - alpha) * CE(z, y), averaged with `weights`; a review whose
    `hard` is 0 takes alpha = 1 (the teacher's probabilities only).

    z are the student's logits, y the teacher's argmax label, and p_T the teacher's distribution at temperature
    T, softmax(log p / T) (Hinton et al. 2015); T^2 keeps the soft term's gradients on the scale of the hard
    one. alpha = 0 is plain cross-entropy on hard labels, alpha = 1 pure soft-target distillation. Without
    teacher probabilities (gold labels, evaluation) it is the cross-entropy alone.
    """
    per_review = F.cross_entropy(logits, labels, reduction="none")
    if hard is not None:
        alpha = torch.where(hard > 0, alpha, 1.0).to(per_review.dtype)
    if teacher_probs is not None and bool(torch.as_tensor(alpha).gt(0).any()):
        log_teacher = torch.where(teacher_probs > 0, torch.log(teacher_probs), -torch.inf)  # 0 stays exactly 0
        target = F.softmax(log_teacher / temperature, dim=-1)
        log_student = F.log_softmax(logits / temperature, dim=-1)
        soft = (torch.xlogy(target, target) - target * log_student).sum(-1) * temperature ** 2
        per_review = alpha * soft + (1 - alpha) * per_review
    if weights is None:
        return per_review.mean()
    return (per_review * weights).mean()  # weights average 1 over the data set, not per batch


def loss_weights(distill_loss: str, alpha: float) -> float:
    """The alpha that `distill_loss` means: hard 0, soft 1, mixed as given."""
    if distill_loss not in LOSSES:
        raise ConfigError(f"distill_loss {distill_loss!r} is not one of {LOSSES}")
    if not 0 <= alpha <= 1:
        raise ConfigError(f"alpha {alpha} must be between 0 and 1")
    return {"hard": 0.0, "soft": 1.0, "mixed": alpha}[distill_loss]


class DistillationTrainer(Trainer):
    """A `Trainer` whose loss is `distillation_loss`: the batch may carry `teacher_probs` and `weight`."""

    def __init__(self, *args, temperature: float = 2.0, alpha: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.temperature, self.alpha = temperature, alpha

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        teacher_probs = inputs.pop("teacher_probs", None)
        weights = inputs.pop("weight", None)
        hard = inputs.pop("hard", None)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        loss = distillation_loss(outputs.logits, labels, teacher_probs, self.temperature, self.alpha, weights, hard)
        return (loss, outputs) if return_outputs else loss
