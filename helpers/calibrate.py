"""Temperature scaling (Guo et al. 2017), folded into the saved classifier so that plain `pipeline()` returns the
calibrated scores: one temperature T, fitted on validation, divides the classification head's weights and bias."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .metrics import binary_positive_probability, expected_calibration_error

BOUNDS = (0.05, 20.0)  # temperatures searched


def rescaled(probs: np.ndarray, temperature: float) -> np.ndarray:
    """`probs` as the model would give them with its logits divided by `temperature`: softmax(log p / T)."""
    logits = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)


def binary_nll(probs: np.ndarray, gold: np.ndarray) -> float:
    """Negative log-likelihood of the true labels under p(positive) (the headline mapping)."""
    p = np.clip(binary_positive_probability(probs), 1e-7, 1 - 1e-7)
    return float(-np.mean(np.where(np.asarray(gold) == 1, np.log(p), np.log(1 - p))))


def fit_temperature(probs: np.ndarray, gold: np.ndarray) -> float:
    """The temperature that minimises the binary NLL of `probs` (validation) against `gold`."""
    from scipy.optimize import minimize_scalar

    found = minimize_scalar(lambda log_t: binary_nll(rescaled(probs, float(np.exp(log_t))), gold),
                            bounds=tuple(np.log(BOUNDS)), method="bounded")
    return float(np.exp(found.x))


def fold(model, temperature: float) -> None:
    """Divide the classification head (the last Linear layer with one output per label) by `temperature`."""
    import torch

    heads = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == model.config.num_labels]
    with torch.no_grad():
        heads[-1].weight /= temperature
        if heads[-1].bias is not None:
            heads[-1].bias /= temperature


def calibrate_student(folder: Path, validation: pd.DataFrame, device: str = "auto") -> dict:
    """Fit a temperature on `validation`'s true labels (scored at fp32), fold it into the saved student at `folder`,
    and record it with the validation ECE before and after in its training.json. Returns that record."""
    from transformers import AutoModelForSequenceClassification

    from .distributed import barrier, is_main
    from .paths import plain_mode, read_json, write_json
    from .student import TRAINING_FILE, SavedStudent

    gold = validation["label"].to_numpy()
    probs = SavedStudent(folder, device).predict(validation["text"], "calibration: student on validation")
    temperature = fit_temperature(probs, gold)
    after = rescaled(probs, temperature)
    record = {"temperature": temperature, "fitted_on": f"{len(validation):,} validation reviews",
              "ece_validation_before": expected_calibration_error(gold, binary_positive_probability(probs)),
              "ece_validation_after": expected_calibration_error(gold, binary_positive_probability(after))}
    if is_main():
        model = AutoModelForSequenceClassification.from_pretrained(str(folder))
        fold(model, temperature)
        model.save_pretrained(str(folder))
        for file in Path(folder).iterdir():  # transformers writes its shards through 0600 temp files
            if file.is_file():
                plain_mode(file)
        write_json({**read_json(Path(folder) / TRAINING_FILE), "calibration": record}, Path(folder) / TRAINING_FILE)
    barrier()
    return record


def calibration_metrics(training: dict, gold: np.ndarray, probs: np.ndarray, split: str) -> dict | None:
    """The saved student's temperature and its ECE on `split` after calibration (`probs`, as scored) and before
    (the same logits undivided: softmax(T log p)); None for a student saved without calibration."""
    record = training.get("calibration")
    if not record:
        return None
    before = rescaled(probs, 1 / record["temperature"])
    return {**record, "split": split,
            f"ece_{split}_before": expected_calibration_error(gold, binary_positive_probability(before)),
            f"ece_{split}_after": expected_calibration_error(gold, binary_positive_probability(probs))}
