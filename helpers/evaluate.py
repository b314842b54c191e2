"""Notebook 04's scoring: every model of a run on its test reviews (when they are reported), its validation reviews
and any extra sets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import MAPPINGS, compare_models, majority_probs, score
from .paths import RunPaths
from .student import SavedStudent
from .teacher import PROB_COLUMNS


def load_students(paths: RunPaths, gold_ceiling: bool, precision: str, check: pd.DataFrame | None,
                  batch_size: int = 0, device: str = "auto") -> dict[str, SavedStudent]:
    """The run's saved student (and gold ceiling), each settled at one precision for every set it scores:
    `precision`, or for `auto` the verdict of a check against fp32 on `check`'s labelled reviews (validation)."""
    folders = {"student": paths.student, **({"gold_supervised": paths.gold_student} if gold_ceiling else {})}
    students = {name: SavedStudent(folder, device, batch_size) for name, folder in folders.items()}
    for name, student in students.items():
        verdict = student.settle(precision, check)
        print(f"{name} scores at {verdict['how']}")
    return students


def model_probs(students: dict[str, SavedStudent], frame: pd.DataFrame, train_labels: np.ndarray,
                what: str = "test") -> dict[str, np.ndarray]:
    """Class probabilities of majority, teacher (from 02's annotations), student and gold ceiling on `frame`."""
    probs = {"majority": majority_probs(train_labels, len(frame)), "teacher": frame[PROB_COLUMNS].to_numpy()}
    for name, student in students.items():
        label = "gold ceiling" if name == "gold_supervised" else name
        probs[name] = student.predict(frame["text"], f"{label} on {what}")
    return probs


def evaluate(frame: pd.DataFrame, probs: dict[str, np.ndarray], by_length: bool = True) -> dict:
    """Each model's scores on `frame` against its true labels, and the paired comparisons."""
    gold = frame["label"].to_numpy()
    texts = frame["text"] if by_length else None
    return {"n": int(len(frame)),
            "models": {name: score(gold, p, probs["teacher"], texts) for name, p in probs.items()},
            "comparisons": compare_models(gold, probs)}


def run_metrics(run_name: str, test: dict | None, validation: dict | None, other: dict[str, dict],
                precision: dict | None = None, test_sample: str = "test reviews") -> dict:
    """metrics.json: the test scores at the top level (the headline) when the test split was scored, else empty
    (`test_scored` false); then validation, the extra sets, and the precision each model scored at.
    `test_sample` says how the test reviews were drawn (`data.test_sample_phrase`)."""
    return {"run_name": run_name, "test_scored": test is not None, "n_test": test["n"] if test else 0,
            "test_sample": test_sample,
            "mapping": MAPPINGS["neutral_positive"], "second_mapping": MAPPINGS["pos_vs_neg"],
            "models": test["models"] if test else {}, "comparisons": test["comparisons"] if test else {},
            "validation": validation, "other_data": other, "precision": precision or {}}


def training_histories(paths: RunPaths) -> dict[str, list]:
    """Every training's log history in the run: the student, each self-training round, the gold ceiling."""
    from .paths import read_json

    files = {"student": paths.results / "train_history.json"}
    for file in sorted(paths.results.glob("train_history_self_train_*.json"),
                       key=lambda f: int(f.stem.rsplit("_", 1)[-1])):
        files[f"self-training round {file.stem.rsplit('_', 1)[-1]}"] = file
    files["gold_supervised"] = paths.results / "train_history_gold.json"
    return {name: read_json(file) for name, file in files.items() if file.exists()}
