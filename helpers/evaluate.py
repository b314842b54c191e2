"""Notebook 04's scoring: every model of a run on its test reviews (when they are reported), its validation reviews,
its development reviews and any extra sets; the diagnostics on the development split (validation when a run has
none), never on test."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .calibrate import calibration_metrics
from .metrics import (MAPPINGS, binary_positive_probability, collapse_notes, compare_models, majority_probs,
                      reliability_bins, score)
from .paths import RunPaths
from .precision import MIN_CHECK_REVIEWS, verdict_line
from .student import SavedStudent
from .teacher import PROB_COLUMNS


def load_students(paths: RunPaths, gold_ceiling: bool, precision: str, check: pd.DataFrame | None,
                  batch_size: int = 0, device: str = "auto", min_check_reviews: int = MIN_CHECK_REVIEWS,
                  reuse_predictions: bool = True) -> dict[str, SavedStudent]:
    """The run's saved student (and gold ceiling), settled at one precision for every set they score: `precision`,
    or for `auto` the verdict of a check against fp32 on `check`'s labelled reviews (validation), remembered for
    these weights on this device. The ceiling scores at the student's precision, so that their paired comparison
    compares models, not precisions."""
    students = {"student": SavedStudent(paths.student, device, batch_size, paths.cache, reuse_predictions)}
    verdict = students["student"].settle(precision, check, min_check_reviews)
    print(f"student scores at {verdict_line(verdict)}")
    if gold_ceiling:
        students["gold_supervised"] = SavedStudent(paths.gold_student, device, batch_size, paths.cache,
                                                   reuse_predictions)
        students["gold_supervised"].use({**verdict, "how": f"{verdict['precision']}, as the student (one precision "
                                                          "for their paired comparison)"})
        print(f"gold ceiling scores at {students['gold_supervised'].verdict['how']}")
    return students


def model_probs(students: dict[str, SavedStudent], frame: pd.DataFrame, train_labels: np.ndarray,
                what: str = "test") -> dict[str, np.ndarray]:
    """Class probabilities of majority, teacher (from 02's annotations), student and gold ceiling on `frame`."""
    probs = {"majority": majority_probs(train_labels, len(frame)), "teacher": frame[PROB_COLUMNS].to_numpy()}
    for name, student in students.items():
        label = "gold ceiling" if name == "gold_supervised" else name
        probs[name] = student.predict(frame["text"], f"{label} on {what}")
    return probs


class DiagnosticSet(NamedTuple):
    """The reviews the diagnostics read: the development split, else validation, never test (split None: none)."""

    split: str | None
    frame: pd.DataFrame | None
    probs: dict[str, np.ndarray] | None


DIAGNOSTIC_NOTES = {
    "development": "their labels never train or choose anything",
    "validation": "no development split (n_dev 0): the validation reviews, where the choices are made; never test",
    None: "no development or validation reviews: no diagnostics (they are never read on test)",
}


def diagnostic_set(development: pd.DataFrame | None, probs_dev: dict | None, validation: pd.DataFrame,
                   probs_val: dict | None) -> DiagnosticSet:
    """The development split when the run drew one, else validation, else none: never test."""
    if probs_dev is not None:
        return DiagnosticSet("development", development, probs_dev)
    if probs_val is not None:
        return DiagnosticSet("validation", validation, probs_val)
    return DiagnosticSet(None, None, None)


def score_run(students: dict[str, SavedStudent], test: pd.DataFrame | None, validation: pd.DataFrame,
              others: dict[str, pd.DataFrame], train_labels: np.ndarray, run_name: str, teacher_precision: str,
              test_sample: str, development: pd.DataFrame | None = None
              ) -> tuple[dict, dict[str, np.ndarray], DiagnosticSet]:
    """Every model on test (None: not scored), validation, development (None: none) and the extra sets: metrics.json's
    content, the probabilities on the headline set (test, else validation), and the diagnostics' reviews."""
    probs_on = lambda frame, what: model_probs(students, frame, train_labels, what)
    probs_val = probs_on(validation, "validation") if len(validation) else None
    probs_dev = probs_on(development, "development") if development is not None and len(development) else None
    probs = probs_on(test, "test") if test is not None else probs_val
    metrics = run_metrics(run_name, evaluate(test, probs, diagnostics=False) if test is not None else None,
                          evaluate(validation, probs_val) if probs_val is not None else None,
                          {name: evaluate(frame, probs_on(frame, name), by_length=False) for name, frame in others.items()},
                          {"teacher": {"precision": teacher_precision}, **{n: s.verdict for n, s in students.items()}},
                          test_sample, {n: s.weights for n, s in students.items()},
                          {n: s.settings.get("train_precision_used") for n, s in students.items()},
                          evaluate(development, probs_dev) if probs_dev is not None else None)
    headline_frame, headline_split = (test, "test") if test is not None else (validation, "validation")
    metrics["calibration"] = calibration_metrics(students["student"].settings, headline_frame["label"].to_numpy(),
                                                 probs["student"],
                                                 students["student"].uncalibrated(headline_frame["text"]),
                                                 headline_split)
    metrics["no_stated_rating"] = {"split": headline_split, **without_stated_rating(headline_frame, probs)}
    diagnostic = diagnostic_set(development, probs_dev, validation, probs_val)
    metrics["diagnostics"] = diagnostic_metrics(diagnostic)
    return metrics, probs, diagnostic


def diagnostic_metrics(diagnostic: DiagnosticSet) -> dict:
    """metrics.json's `diagnostics`, all on one named split (development, else validation, never test): the
    reliability bins, accuracy by review length, teacher-student agreement, and each label source's coverage,
    accuracy where it speaks and agreement with the others."""
    record = {"split": diagnostic.split, "note": DIAGNOSTIC_NOTES[diagnostic.split],
              "n": int(len(diagnostic.frame)) if diagnostic.frame is not None else 0}
    if diagnostic.frame is None:
        return record
    gold, texts = diagnostic.frame["label"].to_numpy(), diagnostic.frame["text"]
    models = {name: p for name, p in diagnostic.probs.items() if name != "majority"}
    scores = {name: score(gold, p, diagnostic.probs["teacher"], texts) for name, p in models.items()}
    record.update(reliability={name: reliability_bins(gold, binary_positive_probability(p))
                               for name, p in models.items()},
                  accuracy_by_length={name: m["accuracy_by_length"] for name, m in scores.items()},
                  agreement_with_teacher={name: m["agreement_with_teacher"] for name, m in scores.items()})
    if any(column.startswith(SOURCE_PREFIX) for column in diagnostic.frame):
        record.update(sources=source_metrics(diagnostic.frame), source_agreement=source_agreement(diagnostic.frame))
    return record


SOURCE_PREFIX = "source_"  # 02 writes each label source's normalised score in a column source_<name>


def source_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each label source's normalised score on `frame` (NaN where it abstains), by source name."""
    return {c.removeprefix(SOURCE_PREFIX): pd.to_numeric(frame[c].replace("", np.nan)).to_numpy(np.float64)
            for c in frame if c.startswith(SOURCE_PREFIX)}  # an abstention is an empty CSV cell


def source_metrics(frame: pd.DataFrame) -> dict[str, dict]:
    """Per source: how many reviews it speaks on (coverage) and how often it is right there (score >= 0 is positive,
    as the headline rule)."""
    gold = frame["label"].to_numpy()
    out = {}
    for name, scores in source_columns(frame).items():
        speaks = ~np.isnan(scores)
        right = (scores[speaks] >= 0).astype(int) == gold[speaks]
        out[name] = {"n": int(len(frame)), "coverage": float(speaks.mean()) if len(frame) else 0.0,
                     "accuracy_where_it_speaks": float(right.mean()) if speaks.any() else None}
    return out


def source_agreement(frame: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """For each pair of sources, the share of reviews on which both speak that they call the same way."""
    calls = {name: np.where(np.isnan(s), np.nan, (s >= 0).astype(float)) for name, s in source_columns(frame).items()}
    return {a: {b: (float(np.mean(calls[a][both] == calls[b][both])) if (both := ~np.isnan(calls[a]) & ~np.isnan(calls[b])).any()
                    else None) for b in calls} for a in calls}


def without_stated_rating(frame: pd.DataFrame, probs: dict[str, np.ndarray]) -> dict:
    """Every model's accuracy on the reviews that state no rating out of 10: IMDB's labels come from the reviewers'
    ratings, so a review that states one nearly gives its label away."""
    from .metrics import bootstrap_ci, to_binary
    from .sources.rating import stated_rating

    keep = np.array([stated_rating(text) is None for text in frame["text"]], dtype=bool)
    gold = frame["label"].to_numpy()[keep]
    models = {}
    for name, p in probs.items():
        right = to_binary(p[keep]) == gold
        models[name] = {"accuracy": float(right.mean()) if keep.any() else None,
                        "accuracy_ci95": bootstrap_ci(right) if keep.any() else None}
    return {"n": int(keep.sum()), "share": float(keep.mean()) if len(keep) else 0.0, "models": models}


def predictions_frame(frame: pd.DataFrame, probs: dict[str, np.ndarray]) -> pd.DataFrame:
    """`frame` with each model's class probabilities (the majority floor left out)."""
    return frame.assign(**{f"{name}_{c}": p[:, i] for name, p in probs.items() if name != "majority"
                           for i, c in enumerate(PROB_COLUMNS)})


def evaluate(frame: pd.DataFrame, probs: dict[str, np.ndarray], by_length: bool = True,
             diagnostics: bool = True) -> dict:
    """Each model's scores on `frame` against its true labels, and the paired comparisons; `diagnostics` False (test)
    leaves out the diagnostics `score` adds (agreement with the teacher, accuracy by length)."""
    gold = frame["label"].to_numpy()
    texts = frame["text"] if by_length and diagnostics else None
    teacher = probs["teacher"] if diagnostics else None
    return {"n": int(len(frame)),
            "models": {name: score(gold, p, teacher, texts) for name, p in probs.items()},
            "comparisons": compare_models(gold, probs)}


def run_metrics(run_name: str, test: dict | None, validation: dict | None, other: dict[str, dict],
                precision: dict | None = None, test_sample: str = "test reviews", weights: dict | None = None,
                training_precision: dict | None = None, development: dict | None = None) -> dict:
    """metrics.json: the test scores at the top level (the headline) when the test split was scored, else empty
    (`test_scored` false); then validation, development (None: the run drew none), the extra sets, and the precision
    each model scored at. `test_sample` says how the test reviews were drawn (`data.test_sample_phrase`); `weights`
    holds each saved model's weights hash, so that a later scoring can show it scored the very models validated;
    `notes` says in one line each where a model has collapsed to one class; `training_precision` what each student
    trained at."""
    notes = [*collapse_notes("test", test), *collapse_notes("validation", validation),
             *collapse_notes("development", development),
             *(note for name, scores in other.items() for note in collapse_notes(f"'{name}'", scores))]
    return {"run_name": run_name, "test_scored": test is not None, "n_test": test["n"] if test else 0,
            "test_sample": test_sample,
            "mapping": MAPPINGS["neutral_positive"], "second_mapping": MAPPINGS["pos_vs_neg"],
            "models": test["models"] if test else {}, "comparisons": test["comparisons"] if test else {},
            "validation": validation, "development": development, "other_data": other, "precision": precision or {},
            "weights": weights or {}, "training_precision": training_precision or {}, "notes": notes}


def training_histories(paths: RunPaths) -> dict[str, list]:
    """Every training's log history in the run: the student, each self-training round, its stated ratings, the gold
    ceiling."""
    from .paths import read_json

    files = {"student": paths.results / "train_history.json"}
    for file in sorted(paths.results.glob("train_history_self_train_*.json"),
                       key=lambda f: int(f.stem.rsplit("_", 1)[-1])):
        files[f"self-training round {file.stem.rsplit('_', 1)[-1]}"] = file
    files["stated ratings"] = paths.results / "train_history_stated_ratings.json"
    files["gold_supervised"] = paths.results / "train_history_gold.json"
    return {name: read_json(file) for name, file in files.items() if file.exists()}
