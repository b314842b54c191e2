"""Calibration of the student's binary reading, folded into its saved head so that plain `pipeline()` returns it.

The student has three outputs, but IMDB asks one question: positive or negative. Its binary logit is
d = z_positive - z_negative. Platt scaling (Platt 1999) maps it to a * d + b, fitted on the validation reviews' true
labels; with b = 0 it is temperature scaling of the binary logit (Guo et al. 2017). The map is folded into the
classification head exactly: the positive row becomes a * (w_pos - w_neg) with bias a * (b_pos - b_neg) + b, the
negative row zero, and the neutral row is switched off (weights 0, bias -1e4), so p(positive) = sigmoid(a * d + b)
and the neutral class can no longer move a decision. A scale keeps every decision of the binary logit; a bias moves
those between the old and new thresholds, and the record says how many.

Which map (scale, or scale and bias) is the one that fits validation better out of sample (5-fold cross-validated
log-loss), and it is folded only if it lowers the validation ECE; below `MIN_REVIEWS` validation reviews nothing is
fitted (a dozen reviews would fit anything).
"""

from __future__ import annotations

import numpy as np

from .metrics import binary_positive_probability, expected_calibration_error, to_binary
from .teacher import CLASSES

MIN_REVIEWS = 500  # fewer validation reviews than this: no calibration
NEUTRAL_OFF = -1.0e4  # the neutral row's bias once calibrated: exp(-1e4) is 0 at every precision
NEG, NEU, POS = (CLASSES.index(name) for name in ("negative", "neutral", "positive"))
MAPS = ("scale", "scale_bias")


def binary_logit(probs: np.ndarray) -> np.ndarray:
    """d = z_positive - z_negative = log p(positive) - log p(negative), per review."""
    probs = np.clip(np.asarray(probs, dtype=np.float64), 1e-30, 1.0)
    return np.log(probs[:, POS]) - np.log(probs[:, NEG])


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow."""
    from scipy.special import expit

    return expit(np.asarray(x, dtype=np.float64))


def log_loss(logits: np.ndarray, gold: np.ndarray) -> float:
    """Mean binary log-loss of sigmoid(`logits`) against `gold`."""
    signed = np.where(np.asarray(gold) == 1, logits, -np.asarray(logits))
    return float(np.mean(np.logaddexp(0, -signed)))


def fit(d: np.ndarray, gold: np.ndarray, kind: str) -> tuple[float, float]:
    """(a, b) minimising the log-loss of sigmoid(a * d + b); b = 0 for `scale`."""
    from scipy.optimize import minimize

    start = np.array([1.0, 0.0])
    if kind == "scale":
        found = minimize(lambda x: log_loss(x[0] * d, gold), start[:1], method="L-BFGS-B", bounds=[(1e-3, 1e3)])
        return float(found.x[0]), 0.0
    found = minimize(lambda x: log_loss(x[0] * d + x[1], gold), start, method="L-BFGS-B",
                     bounds=[(1e-3, 1e3), (-50, 50)])
    return float(found.x[0]), float(found.x[1])


def cross_validated_loss(d: np.ndarray, gold: np.ndarray, kind: str, folds: int = 5, seed: int = 0) -> float:
    """Log-loss of the map `kind` on held-out folds of the validation reviews."""
    order = np.random.default_rng(seed).permutation(len(d))
    losses = []
    for part in np.array_split(order, folds):
        rest = np.setdiff1d(order, part)
        a, b = fit(d[rest], gold[rest], kind)
        losses.append(log_loss(a * d[part] + b, gold[part]) * len(part))
    return float(sum(losses) / len(d))


def calibrated(probs: np.ndarray, scale: float, bias: float) -> np.ndarray:
    """The 3-class probabilities the folded head gives: (1 - p, 0, p) with p = sigmoid(scale * d + bias)."""
    p = sigmoid(scale * binary_logit(probs) + bias)
    out = np.zeros((len(p), len(CLASSES)), dtype=np.float32)
    out[:, NEG], out[:, POS] = 1 - p, p
    return out


def choose(probs: np.ndarray, gold: np.ndarray, min_reviews: int = MIN_REVIEWS) -> dict:
    """The calibration record for a student whose validation probabilities are `probs`: the map chosen (or why
    none), its scale and bias, and on validation the ECE, accuracy and decisions before and after."""
    gold = np.asarray(gold)
    if len(gold) < min_reviews:
        return {"folded": False, "why": f"{len(gold):,} validation reviews, fewer than the {min_reviews:,} a fit needs"}
    d = binary_logit(probs)
    losses = {kind: cross_validated_loss(d, gold, kind) for kind in MAPS}
    kind = min(MAPS, key=lambda k: (round(losses[k], 6), MAPS.index(k)))  # a tie keeps the simpler map
    scale, bias = fit(d, gold, kind)
    record = {"map": kind, "scale": scale, "bias": bias, "fitted_on": f"{len(gold):,} validation reviews",
              "cross_validated_log_loss": losses, **effect(probs, calibrated(probs, scale, bias), gold, "validation"),
              "neutral_moved_validation": int(np.sum(to_binary(probs) != (d > 0)))}  # what switching neutral off moves
    record["folded"] = record["ece_validation_after"] < record["ece_validation_before"]
    if not record["folded"]:
        record["why"] = "it would not lower the validation ECE"
    return record


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


def fold(model, scale: float, bias: float) -> dict:
    """Rewrite the classification head so that its softmax is `calibrated(...)` of the original's: positive
    a * (pos - neg) + b, negative 0, neutral switched off. Returns the original head (`restore` puts it back)."""
    import torch

    head = head_of(model)
    if head.bias is None:
        raise ValueError("the classification head has no bias: the calibration's bias cannot be folded")
    original = {"weight": head.weight.detach().cpu().tolist(), "bias": head.bias.detach().cpu().tolist()}
    with torch.no_grad():
        weight, bias_in = head.weight.clone(), head.bias.clone()
        head.weight.zero_()
        head.weight[POS] = scale * (weight[POS] - weight[NEG])
        head.bias.zero_()
        head.bias[POS] = scale * (bias_in[POS] - bias_in[NEG]) + bias
        head.bias[NEU] = NEUTRAL_OFF
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
    return (f"calibration: {record['map']} (a = {record['scale']:.3f}, b = {record['bias']:+.3f}) fitted on "
            f"{record['fitted_on']}; validation ECE {record['ece_validation_before']:.3f} -> "
            f"{record['ece_validation_after']:.3f}, accuracy {record['accuracy_validation_before']:.4f} -> "
            f"{record['accuracy_validation_after']:.4f}, {record['decisions_changed_validation']:,} decisions changed")


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
