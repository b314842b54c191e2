"""VADER's compound score of the whole review: the project's first teacher, as a label source."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np

from ..teacher import VaderTeacher


class Vader:
    """VADER (Hutto & Gilbert 2014) on the whole review, in `workers` processes: its compound score in [-1, 1]."""

    name = "vader"

    def __init__(self, workers: int = 0):
        self._vader = VaderTeacher(workers)
        self.settings = {"source": self.name, "vaderSentiment": version("vaderSentiment")}

    def score(self, texts, progress=None) -> np.ndarray:
        """The compound score per review; VADER never abstains."""
        return self._vader.compound(list(texts), progress)
