"""One teacher made of several label sources, with no gold label: each source rank-normalised over the pool
(the prior correction: its median review scores 0), the sources that speak averaged, a stated rating overriding
the rest. The combined score becomes a two-class distribution (negative, positive) with a probability."""

from __future__ import annotations

import numpy as np

from ..teacher import CLASSES

SHARPNESS = 3.0  # combined score s -> p(positive) = sigmoid(SHARPNESS * s): 0.95 at s = 1


def rank_normaliser(pool_scores: np.ndarray):
    """A function mapping scores to [-1, 1] by their rank among `pool_scores` (2 * empirical CDF - 1, so the pool's
    median maps to 0); NaN (abstain) stays NaN. Fitted on the pool, applied to every split alike."""
    known = np.sort(pool_scores[~np.isnan(pool_scores)])
    if len(known) == 0:
        return lambda scores: np.full(len(scores), np.nan)

    def normalise(scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=np.float64)
        low = np.searchsorted(known, scores, side="left")
        high = np.searchsorted(known, scores, side="right")
        out = (low + high) / len(known) - 1.0  # mid-rank: ties share one value
        return np.where(np.isnan(scores), np.nan, out)
    return normalise


def combine(normalised: dict[str, np.ndarray], override: str | None = "rating") -> np.ndarray:
    """The mean of the sources that do not abstain, per review; where `override` speaks, its score instead.
    NaN where every source abstains."""
    others = [scores for name, scores in normalised.items() if name != override]
    stacked = np.vstack(others) if others else np.full((1, len(next(iter(normalised.values())))), np.nan)
    speaking = ~np.isnan(stacked)
    mean = np.where(speaking.any(0), np.nansum(stacked, 0) / np.maximum(speaking.sum(0), 1), np.nan)
    if override and override in normalised:
        mean = np.where(np.isnan(normalised[override]), mean, normalised[override])
    return mean


def probabilities(combined: np.ndarray) -> np.ndarray:
    """Two classes, negative and positive, as the 3-class columns (neutral 0): p(positive) = sigmoid(k * s);
    0.5 where no source spoke."""
    s = np.nan_to_num(np.asarray(combined, dtype=np.float64), nan=0.0)
    positive = 1 / (1 + np.exp(-SHARPNESS * s))
    probs = np.zeros((len(s), len(CLASSES)), dtype=np.float32)
    probs[:, CLASSES.index("negative")], probs[:, CLASSES.index("positive")] = 1 - positive, positive
    return probs
