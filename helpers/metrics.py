"""Score 3-class sentiment predictions against IMDB's binary ground truth."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from .teacher import CLASSES

MAPPING = "neutral counts as positive (as in the original): predicted positive = argmax is neutral or positive"


def to_binary(probs: np.ndarray) -> np.ndarray:
    """1 (positive) unless the argmax class is negative."""
    return (np.asarray(probs).argmax(axis=1) != CLASSES.index("negative")).astype(int)


def score(gold: np.ndarray, probs: np.ndarray) -> dict:
    """Accuracy, positive-class F1, confusion matrix (rows gold neg/pos) and the 3-class label counts."""
    predicted = to_binary(probs)
    labels = np.asarray(probs).argmax(axis=1)
    return {
        "n": int(len(gold)),
        "accuracy": float(accuracy_score(gold, predicted)),
        "f1": float(f1_score(gold, predicted, zero_division=0)),
        "confusion_matrix": confusion_matrix(gold, predicted, labels=[0, 1]).tolist(),
        "label_counts": {name: int((labels == i).sum()) for i, name in enumerate(CLASSES)},
    }
