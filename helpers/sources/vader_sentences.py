"""VADER per sentence, later sentences weighted up: a long review's compound score saturates near +-1, and its
verdict tends to come at the end."""

from __future__ import annotations

import re
from importlib.metadata import version

import numpy as np

from ..teacher import VaderTeacher

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|<br\s*/?>")


def sentences(text: str) -> list[str]:
    """The review's sentences: split after . ! ? and at HTML line breaks; empty pieces dropped."""
    return [piece.strip() for piece in SENTENCE_END.split(text) if piece and piece.strip()]


def weights(count: int, last: float) -> np.ndarray:
    """Linear weights from 1 (first sentence) to `last` (last sentence); 1 for a single sentence."""
    return np.linspace(1.0, last, count) if count > 1 else np.ones(count)


def weighted_mean(compounds: list[float], last: float) -> float:
    """The sentences' compound scores averaged with `weights`; NaN (abstain) for a review without a sentence."""
    if not compounds:
        return float("nan")
    w = weights(len(compounds), last)
    return float(np.dot(w, compounds) / w.sum())


class VaderSentences:
    """VADER's compound score of each sentence, averaged with weights rising linearly to `last_weight`."""

    name = "vader_sentences"

    def __init__(self, workers: int = 0, last_weight: float = 2.0):
        self._vader, self.last_weight = VaderTeacher(workers), last_weight
        self.settings = {"source": self.name, "vaderSentiment": version("vaderSentiment"), "last_weight": last_weight,
                         "split": SENTENCE_END.pattern, "no_sentence": "abstain"}

    def score(self, texts, progress=None) -> np.ndarray:
        """One weighted mean of sentence scores per review (sentences scored in VADER's worker processes)."""
        split = [sentences(text) for text in texts]
        flat = self._vader.compound([s for parts in split for s in parts], None)
        out, start = np.zeros(len(split)), 0
        for i, parts in enumerate(split):
            out[i] = weighted_mean(flat[start:start + len(parts)].tolist(), self.last_weight)
            start += len(parts)
        if progress is not None:
            progress.update(len(split))
        return out
