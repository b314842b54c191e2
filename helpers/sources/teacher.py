"""The teacher made of label sources: it annotates like any teacher (notebook 02, the annotation cache), and keeps
each source's own scores, cached apart, so that a sweep changing how they combine recomputes no source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import cache
from ..teacher import annotate
from . import build
from ..precision import MIN_CHECK_REVIEWS, verdict_line
from .combine import SHARPNESS, combine, probabilities, rank_normaliser


class _Column:
    """A source seen by `teacher.annotate`: its settings are the cache key, its score one column."""

    def __init__(self, source):
        self.source, self.fingerprint = source, source.settings

    def predict(self, texts, progress=None) -> np.ndarray:
        return np.asarray(self.source.score(texts, progress), dtype=np.float32)[:, None]


class SourcesTeacher:
    """Label sources `names` combined without gold labels (`combine`): rank-normalised over the pool (a stated
    rating keeps its own scale), averaged where they speak, a stated rating overriding them; two classes with a
    probability.

    `splits` maps each split's name to its texts; every source scores them all once (cached per source), and the
    normalisation is fitted on the `pool` splits."""

    def __init__(self, names: list[str], settings: dict, cache_root: Path, splits: dict[str, list[str]],
                 pool: tuple[str, ...] = ("train", "unsupervised"), override: str = "rating",
                 check: tuple[list[str], np.ndarray] | None = None, min_reviews: int = MIN_CHECK_REVIEWS):
        self.names, self.override = list(names), override if override in names else None
        self.sources = {name: build(name, settings) for name in self.names}
        texts, gold = check if check is not None else ([], np.zeros(0, int))
        verdicts = {name: source.settle(texts, gold, cache_root, min_reviews)  # before any score is looked up
                    for name, source in self.sources.items() if hasattr(source, "settle")}
        self.precision = ", ".join(f"{name} {v['precision']}" for name, v in verdicts.items()) or "n/a"
        self.how = "label sources: " + "; ".join(
            [f"{name} at {verdict_line(v)}" for name, v in verdicts.items()]
            + [f"{name} in pure Python" for name in self.names if name not in verdicts])
        self._raw: dict[str, dict[str, float]] = {name: {} for name in self.names}
        for split, texts in splits.items():
            for name, source in self.sources.items():
                scores = annotate(_Column(source), texts, Path(cache_root) / "sources", desc=f"{split}: {name}",
                                  columns=["score"])[:, 0]
                self._raw[name].update(zip(map(cache.key, texts), scores.astype(np.float64)))
        pool_texts = [t for split in pool for t in splits.get(split, [])]
        pool_raw = self.raw(pool_texts)
        self.normalisers = {name: rank_normaliser(pool_raw[name]) if getattr(source, "ranked", True) else np.asarray
                            for name, source in self.sources.items()}
        self.fingerprint = {"teacher": "sources", "sources": [s.settings for s in self.sources.values()],
                            "ranked": [name for name, s in self.sources.items() if getattr(s, "ranked", True)],
                            "override": self.override, "sharpness": SHARPNESS, "pool": cache.texts_key(pool_texts),
                            "precision": self.precision}  # 04 reads the teacher's precision here (teacher.json)

    def raw(self, texts) -> dict[str, np.ndarray]:
        """Each source's own score per text (NaN: it abstains)."""
        keys = [cache.key(t) for t in texts]
        return {name: np.array([self._raw[name][k] for k in keys], dtype=np.float64) for name in self.names}

    def normalised(self, texts) -> dict[str, np.ndarray]:
        """Each source's score as its rank over the pool, in [-1, 1] (a rating: its own scale; NaN: it abstains)."""
        return {name: self.normalisers[name](scores) for name, scores in self.raw(texts).items()}

    def predict(self, texts, progress=None) -> np.ndarray:
        """The combined teacher's class probabilities (negative, 0, positive) per text."""
        probs = probabilities(combine(self.normalised(list(texts)), self.override))
        if progress is not None:
            progress.update(len(probs))
        return probs

    def explain(self, text: str) -> pd.DataFrame:
        """What each source says about one scored review (its own score, its rank over the pool, NaN: it abstains)
        and what they combine to, with the teacher's p(positive)."""
        raw, normalised = self.raw([text]), self.normalised([text])
        rows = {name: {"own score": raw[name][0], "normalised": normalised[name][0]} for name in self.names}
        combined = combine(normalised, self.override)
        rows["teacher (combined)"] = {"own score": np.nan, "normalised": combined[0],
                                      "p(positive)": probabilities(combined)[0, -1]}
        return pd.DataFrame(rows).T

    def columns(self, texts) -> pd.DataFrame:
        """`source_<name>`: each source's normalised score per text, for the report (NaN where it abstains)."""
        return pd.DataFrame({f"source_{name}": scores for name, scores in self.normalised(list(texts)).items()})


def source_settings(params: dict) -> dict:
    """What the sources need from notebook 02's parameters `params`."""
    return {"workers": params["teacher_workers"], "student": params["student"],
            "positive": params["zeroshot_positive"], "negative": params["zeroshot_negative"],
            "zeroshot_max_length": params["zeroshot_max_length"],
            "zeroshot_truncation": params["zeroshot_truncation"], "device": params["device"],
            "precision": params["precision"],
            "model": params["teacher"], "teacher_max_length": params["teacher_max_length"],
            "truncation": params["teacher_truncation"], "head_tokens": params["head_tokens"]}


def sources_teacher(names: str, settings: dict, cache_root: Path, reviews: dict[str, pd.DataFrame],
                    min_reviews: int = MIN_CHECK_REVIEWS) -> SourcesTeacher:
    """The teacher made of the sources `names` ('vader_sentences,zeroshot,rating') over every split of `reviews`; a
    model source's precision is settled on the labelled validation reviews, as every model's is."""
    from . import parse_sources

    validation = reviews.get("validation")
    check = (validation["text"].tolist(), validation["label"].to_numpy()) if validation is not None else None
    return SourcesTeacher(parse_sources(names), settings, cache_root,
                          {split: frame["text"].tolist() for split, frame in reviews.items()}, check=check,
                          min_reviews=min_reviews)


def instructive_review(frame: pd.DataFrame) -> int:
    """The position of a review worth reading source by source: the first on which every source but the rating
    speaks, no rating is stated and the sources disagree in sign; else the first on which most sources speak."""
    scores = frame.filter(like="source_")
    others = scores.drop(columns="source_rating", errors="ignore")
    stated = scores["source_rating"].notna() if "source_rating" in scores else pd.Series(False, index=frame.index)
    disagree = others.notna().all(axis=1) & ~stated & (np.sign(others).nunique(axis=1) > 1)
    return int(np.argmax(disagree.to_numpy())) if disagree.any() else int(np.argmax(scores.notna().sum(axis=1)))
