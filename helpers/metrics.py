"""Score 3-class sentiment predictions against IMDB's binary ground truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from .teacher import CLASSES, recorded_precision

NEG, NEU, POS = range(len(CLASSES))
MAPPINGS = {
    "neutral_positive": "neutral counts as positive (as in the original): p(positive) = p(neutral) + p(positive), "
                        "and a review is called positive when that is at least 0.5; accuracy, F1, ECE and the "
                        "reliability diagram all use this one rule",
    "pos_vs_neg": "positive if p(positive) > p(negative), ignoring neutral",
}
LENGTH_BUCKETS = [0, 150, 300, 500, np.inf]  # words


def to_binary(probs: np.ndarray, mapping: str = "neutral_positive") -> np.ndarray:
    """0/1 predictions from 3-class probabilities under one of MAPPINGS."""
    probs = np.asarray(probs)
    if mapping == "neutral_positive":
        return (binary_positive_probability(probs) >= 0.5).astype(int)
    return (probs[:, POS] > probs[:, NEG]).astype(int)


def bootstrap_ci(correct: np.ndarray, resamples: int = 1000, seed: int = 0, level: float = 0.95) -> list[float]:
    """Percentile bootstrap interval for the mean of 0/1 `correct`."""
    correct = np.asarray(correct, dtype=float)
    rng = np.random.default_rng(seed)
    means = correct[rng.integers(0, len(correct), size=(resamples, len(correct)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return [float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))]


def expected_calibration_error(gold: np.ndarray, p_positive: np.ndarray, bins: int = 10) -> float:
    """ECE of the binary forecast p(positive): bin by confidence max(p, 1-p), weigh |accuracy - confidence|."""
    p_positive = np.asarray(p_positive, dtype=float)
    confidence = np.maximum(p_positive, 1 - p_positive)
    correct = (p_positive >= 0.5).astype(int) == np.asarray(gold)  # the decision of to_binary
    which = np.minimum(((confidence - 0.5) * 2 * bins).astype(int), bins - 1)
    return float(sum(abs(correct[which == b].mean() - confidence[which == b].mean()) * (which == b).mean()
                     for b in range(bins) if (which == b).any()))


def binary_positive_probability(probs: np.ndarray) -> np.ndarray:
    """p(positive) under the neutral-counts-as-positive mapping."""
    return np.asarray(probs)[:, NEU] + np.asarray(probs)[:, POS]


def length_bucket(texts) -> pd.Series:
    """Each review's length bucket, in words."""
    words = pd.Series([len(t.split()) for t in texts])
    labels = [f"{int(lo) + 1}-{int(hi)}" if np.isfinite(hi) else f">{int(lo)}"
              for lo, hi in zip(LENGTH_BUCKETS, LENGTH_BUCKETS[1:])]
    return pd.cut(words, LENGTH_BUCKETS, labels=labels)


def score(gold: np.ndarray, probs: np.ndarray, teacher_probs: np.ndarray | None = None, texts=None) -> dict:
    """Accuracy (with 95% bootstrap CI), F1, confusion matrix, ECE, both mappings, agreement, by length."""
    gold = np.asarray(gold)
    predicted = to_binary(probs)
    result = {
        "n": int(len(gold)),
        "accuracy": float(accuracy_score(gold, predicted)),
        "accuracy_ci95": bootstrap_ci(predicted == gold),
        "f1": float(f1_score(gold, predicted, zero_division=0)),
        "accuracy_pos_vs_neg": float(accuracy_score(gold, to_binary(probs, "pos_vs_neg"))),
        "ece": expected_calibration_error(gold, binary_positive_probability(probs)),
        "confusion_matrix": confusion_matrix(gold, predicted, labels=[0, 1]).tolist(),
        "label_counts": {name: int((np.asarray(probs).argmax(axis=1) == i).sum()) for i, name in enumerate(CLASSES)},
    }
    if teacher_probs is not None:
        result["agreement_with_teacher"] = float(np.mean(predicted == to_binary(teacher_probs)))
    if texts is not None:
        frame = pd.DataFrame({"bucket": length_bucket(texts), "correct": predicted == gold})
        result["accuracy_by_length"] = {str(k): {"n": int(len(g)), "accuracy": float(g["correct"].mean())}
                                        for k, g in frame.groupby("bucket", observed=True)}
    return result


def paired_comparison(gold: np.ndarray, first: np.ndarray, second: np.ndarray, resamples: int = 1000,
                      seed: int = 0) -> dict:
    """`first` minus `second` (0/1 predictions on the same reviews): accuracy difference, its 95% paired
    bootstrap interval (the same resampled reviews for both), and McNemar's exact two-sided p-value."""
    gold = np.asarray(gold)
    right_1, right_2 = np.asarray(first) == gold, np.asarray(second) == gold
    rng = np.random.default_rng(seed)
    diffs = np.array([right_1[idx].mean() - right_2[idx].mean()
                      for idx in rng.integers(0, len(gold), size=(resamples, len(gold)))])
    only_1, only_2 = int((right_1 & ~right_2).sum()), int((~right_1 & right_2).sum())
    return {"difference": float(right_1.mean() - right_2.mean()),
            "difference_ci95": [float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))],
            "only_first_correct": only_1, "only_second_correct": only_2,
            "mcnemar_p": mcnemar_exact(only_1, only_2), "n": int(len(gold))}


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """McNemar's exact test: two-sided binomial p-value of the discordant pairs against 1/2."""
    from scipy.stats import binom

    discordant = only_first + only_second
    if discordant == 0:
        return 1.0
    return float(min(1.0, 2 * binom.cdf(min(only_first, only_second), discordant, 0.5)))


def compare_models(gold: np.ndarray, probs: dict[str, np.ndarray]) -> dict:
    """Student vs teacher and student vs the gold ceiling (when present), paired on the same reviews."""
    pairs = [("student", "teacher"), ("student", "gold_supervised")]
    return {f"{a} - {b}": paired_comparison(gold, to_binary(probs[a]), to_binary(probs[b]))
            for a, b in pairs if a in probs and b in probs}


def majority_probs(train_labels: np.ndarray, n: int) -> np.ndarray:
    """Always the training sample's most common true label (ties: positive), as one-hot probabilities."""
    positive = np.mean(train_labels) >= 0.5
    probs = np.zeros((n, len(CLASSES)), dtype=np.float32)
    probs[:, POS if positive else NEG] = 1
    return probs


def comparison_table(comparisons: dict) -> pd.DataFrame:
    """One row per paired comparison: difference, its interval, discordant counts, McNemar p."""
    return pd.DataFrame({name: {"accuracy difference": c["difference"],
                                "95% CI": "{:+.3f} to {:+.3f}".format(*c["difference_ci95"]),
                                "only first right": c["only_first_correct"], "only second right": c["only_second_correct"],
                                "McNemar p": f"{c['mcnemar_p']:.2g}"} for name, c in comparisons.items()}).T


def summary_table(models: dict) -> pd.DataFrame:
    """One row per model: the headline figures."""
    rows = {name: {"accuracy": m["accuracy"], "95% CI": "{:.3f}-{:.3f}".format(*m["accuracy_ci95"]),
                   "F1": m["f1"], "acc. pos-vs-neg": m["accuracy_pos_vs_neg"], "ECE": m["ece"],
                   "agreement w/ teacher": m.get("agreement_with_teacher")} for name, m in models.items()}
    return pd.DataFrame(rows).T


def confident_disagreements(frame: pd.DataFrame, teacher_probs: np.ndarray, student_probs: np.ndarray,
                            n: int = 8, excerpt: int = 160) -> pd.DataFrame:
    """The `n` reviews where teacher and student disagree (binary) most confidently, with short excerpts."""
    teacher, student = to_binary(teacher_probs), to_binary(student_probs)
    confidence = np.abs(binary_positive_probability(teacher_probs) - binary_positive_probability(student_probs))
    chosen = np.argsort(-np.where(teacher != student, confidence, -1))[:min(n, int((teacher != student).sum()))]
    names = np.array(["negative", "positive"])
    return pd.DataFrame({
        "excerpt": [t[:excerpt].replace("<br />", " ") + ("..." if len(t) > excerpt else "")
                    for t in frame["text"].to_numpy()[chosen]],
        "true": names[frame["label"].to_numpy()[chosen]],
        "teacher": [f"{names[t]} ({p:.2f})" for t, p in zip(teacher[chosen], binary_positive_probability(teacher_probs)[chosen])],
        "student": [f"{names[s]} ({p:.2f})" for s, p in zip(student[chosen], binary_positive_probability(student_probs)[chosen])],
    })


def headline(metrics: dict) -> tuple[str, int, dict, dict]:
    """The set a run reports first: test when it was scored, else validation. (name, n, models, comparisons)"""
    if metrics.get("test_scored", True):
        return "test", metrics["n_test"], metrics["models"], metrics.get("comparisons", {})
    validation = metrics.get("validation") or {"n": 0, "models": {}, "comparisons": {}}
    return "validation", validation["n"], validation["models"], validation.get("comparisons", {})


COLLAPSED_SHARE = 0.95  # a model that gives one class to at least this share of a set has collapsed


def collapse_notes(where: str, scores: dict | None) -> list[str]:
    """One line per model (not the majority floor) that calls at least COLLAPSED_SHARE of `where`'s reviews by one
    class: such a model is no classifier, whatever its accuracy on a balanced set says."""
    notes = []
    for name, m in ((scores or {}).get("models") or {}).items():
        matrix = np.asarray(m["confusion_matrix"])
        positive = matrix[:, 1].sum() / max(matrix.sum(), 1)
        if name != "majority" and max(positive, 1 - positive) >= COLLAPSED_SHARE:
            notes.append(f"{name} calls {max(positive, 1 - positive):.0%} of the {m['n']:,} {where} reviews "
                         f"{'positive' if positive >= 0.5 else 'negative'}: it has collapsed to one class")
    return notes


def precision_line(metrics: dict, teacher: dict | None = None) -> str:
    """'scoring: teacher (zeroshot bf16), student bf16; training: student bf16': the precision each model scored at
    (a teacher of label sources: each of its model sources'; n/a: no model) and each student trained at ('-' for
    older runs). `teacher`, the run's teacher record (teacher.json; its student's training.json keeps a copy), names
    the teacher's precision where an older run's metrics say n/a (04 read a top-level precision that a teacher of
    label sources did not record)."""
    used = {name: verdict.get("precision") for name, verdict in (metrics.get("precision") or {}).items()}
    if teacher is not None and used.get("teacher") == "n/a":
        used["teacher"] = recorded_precision(teacher)
    shown = [f"{name} ({value})" if " " in str(value) else f"{name} {value}"  # 'teacher (zeroshot bf16, model fp32)'
             for name, value in used.items()]
    line = ", ".join(shown) or "-"
    trained = metrics.get("training_precision") or {}
    return f"scoring: {line}; training: " + ", ".join(f"{n} {v}" for n, v in trained.items()) if trained else line


def reliability_bins(gold: np.ndarray, p_positive: np.ndarray, bins: int = 10) -> list[dict]:
    """Predicted p(positive) in `bins` equal-width bins: per non-empty bin, its mean prediction, the share truly
    positive and the number of reviews (the reliability diagram's points)."""
    frame = pd.DataFrame({"p": np.asarray(p_positive, dtype=float), "gold": np.asarray(gold)})
    frame["bin"] = pd.cut(frame["p"], [i / bins for i in range(bins + 1)], include_lowest=True, labels=False)
    grouped = frame.groupby("bin").agg(predicted=("p", "mean"), observed=("gold", "mean"), reviews=("p", "size"))
    return [{"bin": f"{b / bins:.2g}-{(b + 1) / bins:.2g}", "predicted": float(row.predicted),
             "observed": float(row.observed), "reviews": int(row.reviews)} for b, row in grouped.iterrows()]


def top_fraction_accuracy(gold: np.ndarray, probs: np.ndarray, fractions=(0.1, 0.2, 0.4, 0.6, 0.8, 1.0)) -> dict:
    """Accuracy (headline rule) of the most confident `fraction` of each predicted class, per fraction: what a
    confidence filter that keeps the top of each class would hand the student."""
    p_positive = binary_positive_probability(probs)
    calls, confidence = (p_positive >= 0.5).astype(int), np.abs(p_positive - 0.5)
    out = {}
    for fraction in fractions:
        keep = np.zeros(len(calls), dtype=bool)
        for label in (0, 1):
            members = np.flatnonzero(calls == label)
            keep[members[np.argsort(-confidence[members], kind="stable")[:int(np.ceil(len(members) * fraction))]]] = True
        out[fraction] = float(np.mean(calls[keep] == np.asarray(gold)[keep])) if keep.any() else float("nan")
    return out


def annotation_summary(annotated: dict[str, pd.DataFrame], prob_columns: list[str]) -> str:
    """What 02's teacher said, in a few sentences: its labels over the pool and its accuracy on the labelled splits
    that are not test (a diagnostic: test is scored in 04 only)."""
    pool = pd.concat([annotated[s] for s in ("train", "unsupervised") if len(annotated.get(s, []))])
    shares = pool["teacher_label"].value_counts(normalize=True)
    text = (f"The teacher labelled {len(pool):,} pool reviews: "
            + ", ".join(f"{shares.get(name, 0):.0%} {name}" for name in CLASSES) + ".")
    for split in ("validation", "development"):
        frame = annotated.get(split)
        if frame is not None and len(frame):
            probs = frame[prob_columns].to_numpy()
            top = top_fraction_accuracy(frame["label"].to_numpy(), probs, (0.4,))[0.4]
            text += (f" On the {len(frame):,} {split} reviews it is right on {accuracy_score(frame['label'], to_binary(probs)):.1%}"
                     f", and on its most confident 40% of each class on {top:.1%}.")
    return text


def headline_summary(metrics: dict) -> str:
    """What 04 found, in a few sentences: student against teacher on the headline reviews, paired; on the reviews
    that state no rating; the student's calibration error; the gold ceiling if it was trained."""
    split, n, models, comparisons = headline(metrics)
    student, teacher = models["student"], models["teacher"]
    text = f"On the {n:,} {split} reviews the student is right on {student['accuracy']:.1%}, the teacher on {teacher['accuracy']:.1%}"
    paired = comparisons.get("student - teacher")
    if paired:
        low, high = paired["difference_ci95"]
        text += (f": a paired difference of {100 * paired['difference']:+.1f} points (95% interval "
                 f"{100 * low:+.1f} to {100 * high:+.1f})")
    text += f". The student's calibration error (ECE) there is {student['ece']:.3f}."
    no_rating = metrics.get("no_stated_rating")
    if no_rating and no_rating.get("models"):
        rated = no_rating["models"]
        text += (f" On the {no_rating['n']:,} that state no rating: student {rated['student']['accuracy']:.1%}, "
                 f"teacher {rated['teacher']['accuracy']:.1%}.")
    if "gold_supervised" in models:
        text += f" The same student trained on the gold labels of the train sample: {models['gold_supervised']['accuracy']:.1%}."
    return text
