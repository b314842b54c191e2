"""A rating out of 10 that the review states ("7/10", "3 out of 10").

IMDB's labels come from the reviewers' ratings (negative <= 4, positive >= 7), so a review that states its rating
nearly gives its label away: this source is accurate where it speaks, and it speaks rarely (about 8% of reviews).
"""

from __future__ import annotations

import re

import numpy as np

# "N/10" or "N out of 10"; not a date: no digit, point or slash just before N ("5/3/10"), none after the 10
# ("10/10/2005", "2/10/10")
RATING = re.compile(r"(?<![\d./])(\d{1,2}(?:\.\d+)?)\s*(?:/|out\s+of)\s*10(?!\d|\s*/\s*\d)", re.IGNORECASE)
UNDECIDED = (4.0, 7.0)  # ratings strictly between these say nothing IMDB counts (it keeps <= 4 and >= 7)


def stated_rating(text: str) -> float | None:
    """The last rating out of 10 the text states, if any (a verdict usually closes a review)."""
    found = [float(m.group(1)) for m in RATING.finditer(text) if float(m.group(1)) <= 10]
    return found[-1] if found else None


def without_rating(text: str) -> str:
    """`text` with every "N/10" and "N out of 10" this source reads cut out (a rating in words, "seven out of ten",
    stays): a student labelled by this source then learns the review's words, not its number (distant supervision
    drops its cue, as emoticon-labelled tweets lose theirs)."""
    return RATING.sub("", text)


def rating_score(rating: float | None) -> float:
    """A rating as a score in [-1, 1] (1 and 10 at the ends, 5.5 in the middle); NaN where it abstains: no rating,
    or one strictly between 4 and 7."""
    if rating is None or UNDECIDED[0] < rating < UNDECIDED[1]:
        return float("nan")
    return float(np.clip((rating - 5.5) / 4.5, -1, 1))


class Rating:
    """The review's own rating, where it states one."""

    name = "rating"
    ranked = False  # a rating has its own zero (5.5, between IMDB's cut-offs): its scale is kept, never ranked

    def __init__(self):
        self.settings = {"source": self.name, "pattern": RATING.pattern, "undecided": UNDECIDED}

    def score(self, texts, progress=None) -> np.ndarray:
        """Score per review, NaN where no decisive rating is stated."""
        out = np.array([rating_score(stated_rating(text)) for text in texts])
        if progress is not None:
            progress.update(len(out))
        return out
