"""Calibration of the student's binary reading, folded into its saved head so that plain `pipeline()` returns it,
without changing a single decision of its binary logit.

The student has three outputs, but IMDB asks one question: positive or negative. Its binary logit is
d = z_positive - z_negative. A map g(d) with g(0) = 0 that rises with d keeps every decision sign(d), and
p(positive) = sigmoid(g(d)) is fitted on the validation reviews' true labels. Two maps, each a log-sum of branches
a_k * d + b_k whose weights exp(b_k) sum to 1 (so g(0) = 0):
- `scale`: one branch, g = a * d, temperature scaling of the binary logit (Guo et al. 2017);
- `two_scales`: g = log(w * exp(a1 * d) + (1 - w) * exp(a2 * d)), a different confidence for the reviews the
  student calls clearly positive than for the rest. A distilled student is often both: too sure in the middle
  (a small a) and too shy about its clearest positives (a large a).
Both fold into the classification head exactly: the negative row becomes zero, the positive row the steeper
branch a_1 * (w_pos - w_neg) with bias a_1 * (b_pos - b_neg) + b_1, and the neutral row the other branch, or
switched off (bias -1e4) for one. p(positive) + p(neutral), the project's headline reading, is then sigmoid(g(d)),
so the neutral class carries part of a positive call and can no longer move a decision. A bias (Platt scaling) would
fit some students better, but it moves every decision between the old and the new threshold, so it is not offered.

The maps are tried in the order of their out-of-sample fit to validation (5-fold cross-validated log-loss), and the
first that lowers the validation ECE held out is folded (none, if neither does): the ECE after a map is cross-fitted,
each half of the validation reviews read through the map fitted on the other half, because a map judged on the
reviews it was fitted on looks better than it is. The map folded is then fitted on all of them. Below `MIN_REVIEWS`
validation reviews nothing is fitted (a dozen reviews would fit anything).
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

from .metrics import binary_positive_probability, expected_calibration_error, to_binary
from .teacher import CLASSES

SELF_CALIBRATION_PARTS = ("network", "top")  # what relearns in self-calibration: the whole student, or the
# layers above its encoder (helpers.train.self_calibrate)

MIN_REVIEWS = 500  # fewer validation reviews than this: no calibration
NEUTRAL_OFF = -1.0e4  # the neutral row's bias once calibrated: exp(-1e4) is 0 at every precision
NEG, NEU, POS = (CLASSES.index(name) for name in ("negative", "neutral", "positive"))
MAPS = ("scale", "two_scales")
HELD_FROM_HALF = 1 / (1 + np.exp(-0.05))  # truth_map's floor on a positive call (ceiling 1 - it on a negative):
# a logit 0.05 from the tie, so a target survives float32 and still names its side
LOG_SLOPE_BOUND = np.log(1e3)  # each branch's slope stays in [1e-3, 1e3]


def binary_logit(probs: np.ndarray) -> np.ndarray:
    """d = z_positive - z_negative = log p(positive) - log p(negative), per review."""
    probs = np.clip(np.asarray(probs, dtype=np.float64), 1e-30, 1.0)
    return np.log(probs[:, POS]) - np.log(probs[:, NEG])


def log_loss(logits: np.ndarray, gold: np.ndarray) -> float:
    """Mean binary log-loss of sigmoid(`logits`) against `gold`."""
    signed = np.where(np.asarray(gold) == 1, logits, -np.asarray(logits))
    return float(np.mean(np.logaddexp(0, -signed)))


def logit(d: np.ndarray, branches) -> np.ndarray:
    """g(d) = log sum_k exp(a_k * d + b_k): the calibrated binary logit of the map `branches` [(a_k, b_k), ...]."""
    terms = [a * np.asarray(d, dtype=np.float64) + b for a, b in branches]
    return np.logaddexp.reduce(terms, axis=0) if len(terms) > 1 else terms[0]


def branches_of(x: np.ndarray, kind: str) -> list[tuple[float, float]]:
    """The branches of map `kind` from its free parameters: log-slopes, and the weight's logit for `two_scales`."""
    log_slopes = np.clip(x, -LOG_SLOPE_BOUND, LOG_SLOPE_BOUND)  # a slope near 0 would make every p exactly 0.5
    if kind == "scale":
        return [(float(np.exp(log_slopes[0])), 0.0)]
    slopes, weight_logit = np.exp(log_slopes[:2]), x[2]
    weights = -np.logaddexp(0, -weight_logit), -np.logaddexp(0, weight_logit)  # log w, log(1 - w): sum to one
    return sorted(((float(a), float(b)) for a, b in zip(slopes, weights)), reverse=True)  # steeper first: positive


def fit(d: np.ndarray, gold: np.ndarray, kind: str) -> list[tuple[float, float]]:
    """The branches of map `kind` minimising the log-loss of sigmoid(g(d)), from a few starts (the two-branch
    loss is not convex)."""
    from scipy.optimize import minimize

    starts = [[0.0]] if kind == "scale" else [[-1.0, 0.5, 0.0], [-2.0, 0.0, 2.0], [-2.0, 0.0, -2.0], [0.0, -2.0, 2.0]]
    loss = lambda x: log_loss(logit(d, branches_of(x, kind)), gold)
    found = min((minimize(loss, start, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-10})
                 for start in starts), key=lambda result: result.fun)
    return branches_of(found.x, kind)


def cross_validated_loss(d: np.ndarray, gold: np.ndarray, kind: str, folds: int = 5, seed: int = 0) -> float:
    """Log-loss of the map `kind` on held-out folds of the validation reviews."""
    order = np.random.default_rng(seed).permutation(len(d))
    losses = []
    for part in np.array_split(order, folds):
        rest = np.setdiff1d(order, part)
        losses.append(log_loss(logit(d[part], fit(d[rest], gold[rest], kind)), gold[part]) * len(part))
    return float(sum(losses) / len(d))


def halves(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split of the positions 0..n-1 into two halves (the first larger by one for an odd n), each sorted."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:(n + 1) // 2]), np.sort(order[(n + 1) // 2:])


def cross_fitted(probs: np.ndarray, gold: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """`calibrated` probabilities of every review through the map `kind` fitted on the other half of the reviews
    (both ways round): what the map does to reviews whose labels it never saw."""
    d, out = binary_logit(probs), np.zeros((len(gold), len(CLASSES)), dtype=np.float32)
    for fitted_on, judged in permutations(halves(len(gold), seed)):
        out[judged] = calibrated(probs[judged], fit(d[fitted_on], gold[fitted_on], kind))
    return out


def calibrated(probs: np.ndarray, branches) -> np.ndarray:
    """The 3-class probabilities the folded head gives: negative 1 - sigmoid(g(d)), positive the first branch's
    share of sigmoid(g(d)) and neutral the second's (0 for a one-branch map)."""
    d = binary_logit(probs)
    rows = np.stack([np.zeros_like(d)] + [a * d + b for a, b in branches], axis=1)
    shares = np.exp(rows - np.logaddexp.reduce(rows, axis=1, keepdims=True))
    out = np.zeros((len(d), len(CLASSES)), dtype=np.float32)
    out[:, NEG], out[:, POS] = shares[:, 0], shares[:, 1]
    if len(branches) > 1:
        out[:, NEU] = shares[:, 2]
    return out


def record_branches(record: dict) -> list[tuple[float, float]]:
    """The map of a calibration record; a record written before maps had branches has one `scale` and `bias`."""
    return [tuple(branch) for branch in record["branches"]] if "branches" in record else [(record["scale"],
                                                                                            record["bias"])]


def choose(probs: np.ndarray, gold: np.ndarray, min_reviews: int = MIN_REVIEWS) -> dict:
    """The calibration record for a student whose validation probabilities are `probs`: the map folded (or why
    none), its branches (fitted on all the reviews), each map's cross-validated log-loss and held-out validation ECE,
    and on validation the ECE (held out: `cross_fitted`), accuracy and decisions before and after, plus the ECE
    after on the reviews the folded map was fitted on (`..._in_sample`). The maps are tried in order of their
    cross-validated log-loss; the first that lowers the held-out validation ECE is folded."""
    gold = np.asarray(gold)
    if len(gold) < min_reviews:
        return {"folded": False, "why": f"{len(gold):,} validation reviews, fewer than the {min_reviews:,} a fit needs"}
    d = binary_logit(probs)
    losses = {kind: cross_validated_loss(d, gold, kind) for kind in MAPS}
    order = sorted(MAPS, key=lambda k: (round(losses[k], 6), MAPS.index(k)))  # a tie puts the simpler map first
    held_out = {kind: cross_fitted(probs, gold, kind) for kind in order}
    ece_after = {kind: expected_calibration_error(gold, binary_positive_probability(held_out[kind])) for kind in order}
    before = expected_calibration_error(gold, binary_positive_probability(probs))
    kind = next((k for k in order if ece_after[k] < before), order[0])
    branches = fit(d, gold, kind)
    record = {"map": kind, "branches": branches, "fitted_on": f"{len(gold):,} validation reviews",
              "ece_judged": "held out: each half of these reviews read through the map fitted on the other half",
              "cross_validated_log_loss": losses, "ece_validation_after_each_map": ece_after,
              **effect(probs, held_out[kind], gold, "validation"),
              "ece_validation_after_in_sample": expected_calibration_error(
                  gold, binary_positive_probability(calibrated(probs, branches))),
              "neutral_moved_validation": int(np.sum(to_binary(probs) != (d > 0)))}  # what switching neutral off moves
    record["folded"] = record["ece_validation_after"] < record["ece_validation_before"]
    if not record["folded"]:
        record["why"] = "no map would lower the validation ECE held out"
    return record


def truth_map(probs: np.ndarray, gold: np.ndarray):
    """p(positive) as a non-decreasing function of the binary reading's logit, fitted to `gold` by isotonic regression
    and held on its side of 0.5, so it keeps every decision: a function `probs -> p(positive)`. Unlike a fold it may
    take any shape, e.g. the S of a student distilled from capped targets; it is what self-calibration teaches."""
    from sklearn.isotonic import IsotonicRegression

    def reading_logit(probs: np.ndarray) -> np.ndarray:
        positive = np.clip(binary_positive_probability(np.asarray(probs, dtype=np.float64)), 1e-12, 1 - 1e-12)
        return np.log(positive) - np.log1p(-positive)

    fitted = IsotonicRegression(y_min=1e-3, y_max=1 - 1e-3, out_of_bounds="clip").fit(reading_logit(probs), gold)

    def to_truth(probs: np.ndarray) -> np.ndarray:
        positive = to_binary(probs) == 1
        p = fitted.predict(reading_logit(probs))
        return np.where(positive, np.maximum(p, HELD_FROM_HALF), np.minimum(p, 1 - HELD_FROM_HALF))
    return to_truth


def binary_reading(probs: np.ndarray) -> np.ndarray:
    """(1 - p, 0, p) with p = p(neutral) + p(positive): a calibrated student's reading, as the project scores it.
    A two-scale head splits p between its positive and neutral rows (pipeline() shows both); every metric, and the
    precision check, uses their sum, so that no reading depends on where that split falls."""
    p = binary_positive_probability(probs)
    out = np.zeros((len(p), len(CLASSES)), dtype=np.float32)
    out[:, NEG], out[:, POS] = 1 - p, p
    return out


def effect(before: np.ndarray, after: np.ndarray, gold: np.ndarray, split: str) -> dict:
    """ECE and accuracy of `before` and `after` (headline rule) on `split`, and how many decisions differ."""
    calls = to_binary(before), to_binary(after)
    return {f"ece_{split}_before": expected_calibration_error(gold, binary_positive_probability(before)),
            f"ece_{split}_after": expected_calibration_error(gold, binary_positive_probability(after)),
            f"accuracy_{split}_before": float(np.mean(calls[0] == gold)),
            f"accuracy_{split}_after": float(np.mean(calls[1] == gold)),
            f"decisions_changed_{split}": int(np.sum(calls[0] != calls[1]))}


def head_of(model):
    """The classification head: the last Linear layer with one output per label."""
    import torch

    return [m for m in model.modules() if isinstance(m, torch.nn.Linear)
            and m.out_features == model.config.num_labels][-1]


def fold(model, branches) -> dict:
    """Rewrite the classification head so that its softmax is `calibrated(..., branches)` of the original's: negative
    0, positive and neutral the branches a * (pos - neg) + b (neutral switched off for one branch). Returns the
    original head (`restore` puts it back)."""
    import torch

    head = head_of(model)
    if head.bias is None:
        raise ValueError("the classification head has no bias: the calibration's bias cannot be folded")
    original = {"weight": head.weight.detach().cpu().tolist(), "bias": head.bias.detach().cpu().tolist()}
    with torch.no_grad():
        weight, bias_in = head.weight.clone(), head.bias.clone()
        head.weight.zero_()
        head.bias.zero_()
        head.bias[NEU] = NEUTRAL_OFF
        for row, (a, b) in zip((POS, NEU), branches):
            head.weight[row] = a * (weight[POS] - weight[NEG])
            head.bias[row] = a * (bias_in[POS] - bias_in[NEG]) + b
    return original


def restore(model, original: dict) -> None:
    """Put back the head `fold` replaced: the trained student, before calibration."""
    import torch

    head = head_of(model)
    with torch.no_grad():
        head.weight.copy_(torch.tensor(original["weight"], dtype=head.weight.dtype))
        head.bias.copy_(torch.tensor(original["bias"], dtype=head.bias.dtype))


def calibration_line(record: dict) -> str:
    """One line on what calibration did."""
    if not record.get("folded"):
        return f"calibration: not folded ({record['why']})"
    branches = ", ".join(f"{a:.3f} d {b:+.3f}" for a, b in record_branches(record))
    in_sample = record.get("ece_validation_after_in_sample")  # a record older than the held-out gate has none
    judged = f" held out ({in_sample:.3f} on the reviews it was fitted on)" if in_sample is not None else ""
    return (f"calibration: {record['map']} (g(d) = log-sum-exp of {branches}) fitted on "
            f"{record['fitted_on']}; validation ECE {record['ece_validation_before']:.3f} -> "
            f"{record['ece_validation_after']:.3f}{judged}, accuracy {record['accuracy_validation_before']:.4f} -> "
            f"{record['accuracy_validation_after']:.4f}, {record['decisions_changed_validation']:,} decisions changed")


def map_saw_all_validation(relearned: dict) -> bool:
    """Whether a self-calibration record's truth map was fitted on every validation review (judged cross-fitted, the
    rule since 2026-12-04), not on one half of them."""
    return relearned.get("fitted_on", "").startswith("all ")


def held_out_validation_ece(training: dict) -> float | None:
    """The final student's validation ECE on reviews no map it went through was fitted on, from its training.json:
    the fold's cross-fitted figure, else the ECE of the reviews a fold was tried on (nothing fitted on them), else
    self-calibration's held-out figure (cross-fitted: each half as relearned from the other half's map, an estimate
    for the student relearned from the whole map; in a record from before 2026-12-04, the half its map never saw);
    None where the record cannot say (an older record's figures were in-sample)."""
    fold, relearned = training.get("calibration") or {}, training.get("self_calibration") or {}
    if relearned and "skipped" not in relearned and "kept" not in relearned:
        return None  # relearned before this rule: its map was fitted on every validation review
    if fold.get("folded"):
        return fold["ece_validation_after"] if "ece_validation_after_in_sample" in fold else None
    if "ece_validation_before" in fold:
        return fold["ece_validation_before"]
    if "kept" in relearned:
        return relearned["ece_held_out_after" if relearned["kept"] else "ece_held_out_before"]
    return None


def calibration_metrics(training: dict, gold: np.ndarray, probs: np.ndarray, before: np.ndarray | None, split: str
                        ) -> dict | None:
    """The saved student's calibration record (without its saved head) plus, on `split`, the ECE and accuracy of
    the trained student (`before`, neutral and all) and of the calibrated one (`probs`, as scored), and how many
    decisions differ; None for a student saved without calibration."""
    record = {k: v for k, v in (training.get("calibration") or {}).items() if k != "head"}
    if not record:
        return None
    if not record.get("folded"):
        return {**record, "split": split}
    if before is None:
        return {**record, "split": split, "before": "not measured: calibrated before the trained head was kept "
                                                    "(rerun 03 to measure it)"}
    return {**record, "split": split, **effect(before, probs, np.asarray(gold), split)}
