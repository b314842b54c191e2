"""Any Hugging Face sentiment classifier as a label source: p(positive) - p(negative), e.g. the seed's
`cardiffnlp/twitter-roberta-base-sentiment-latest`, on the whole review (`chunks`) or its head."""

from __future__ import annotations

import numpy as np

from ..teacher import HFTeacher


class Classifier:
    """A classifier whose labels name negative/(neutral)/positive; abstains nowhere."""

    name = "model"

    def __init__(self, model: str, max_length: int = 512, device: str = "auto", truncation: str = "head",
                 precision: str = "fp32", head_tokens: int = 128):
        self._teacher = HFTeacher(model, max_length, 0, device, truncation, head_tokens, precision=precision)

    @property
    def precision(self) -> str:
        return self._teacher.precision

    @property
    def settings(self) -> dict:
        return {"source": self.name, **self._teacher.fingerprint}

    def settle(self, texts, gold, cache_root, min_reviews: int) -> dict:
        """The classifier's precision, settled as any transformer teacher's (`precision.settle_teacher`)."""
        from ..precision import settle_teacher

        return settle_teacher(self._teacher, list(texts), gold, cache_root, min_reviews)

    def score(self, texts, progress=None) -> np.ndarray:
        """p(positive) - p(negative) per review."""
        probs = self._teacher.predict(list(texts), progress)
        return (probs[:, 2] - probs[:, 0]).astype(np.float64)
