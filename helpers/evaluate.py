"""Notebook 04's scoring: every model of a run on its test reviews, its validation reviews and any extra sets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import MAPPINGS, compare_models, majority_probs, score
from .paths import RunPaths
from .student import predict_student
from .teacher import PROB_COLUMNS


def model_probs(paths: RunPaths, frame: pd.DataFrame, train_labels: np.ndarray, gold_ceiling: bool,
                batch_size: int = 0, device: str = "auto", what: str = "test") -> dict[str, np.ndarray]:
    """Class probabilities of majority, teacher (from 02's annotations), student and gold ceiling on `frame`."""
    probs = {"majority": majority_probs(train_labels, len(frame)), "teacher": frame[PROB_COLUMNS].to_numpy(),
             "student": predict_student(paths.student, frame["text"], batch_size, device, f"student on {what}")}
    if gold_ceiling:
        probs["gold_supervised"] = predict_student(paths.gold_student, frame["text"], batch_size, device,
                                                   f"gold ceiling on {what}")
    return probs


def evaluate(frame: pd.DataFrame, probs: dict[str, np.ndarray], by_length: bool = True) -> dict:
    """Each model's scores on `frame` against its true labels, and the paired comparisons."""
    gold = frame["label"].to_numpy()
    texts = frame["text"] if by_length else None
    return {"n": int(len(frame)),
            "models": {name: score(gold, p, probs["teacher"], texts) for name, p in probs.items()},
            "comparisons": compare_models(gold, probs)}


def run_metrics(run_name: str, test: dict, validation: dict | None, other: dict[str, dict]) -> dict:
    """metrics.json: the test scores at the top level (the headline), then validation and the extra sets."""
    return {"run_name": run_name, "n_test": test["n"], "mapping": MAPPINGS["neutral_positive"],
            "second_mapping": MAPPINGS["pos_vs_neg"], "models": test["models"], "comparisons": test["comparisons"],
            "validation": validation, "other_data": other}
