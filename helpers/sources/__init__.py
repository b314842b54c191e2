"""Label sources: one small module each, one interface, and `combine`, which makes one teacher of several.

The idea is weak supervision's (Snorkel's labeling functions): sources that need no gold label, each weak, each
wrong in its own way, combined. A source maps each review to a score in [-1, 1], negative to positive, or abstains
(NaN). Every source has a `name`, the `settings` that tell its scores apart (they key its cache), and
`score(texts, progress)`.

- `vader`: VADER's compound score of the whole review;
- `vader_sentences`: VADER per sentence, later sentences weighted up (a review's verdict tends to come last);
- `rating`: a rating out of 10 that the review states ("7/10", "3 out of 10"); abstains without one, or at 5-6;
- `zeroshot`: the student's own base encoder, cosine to positive minus negative prototype sentences;
- `model`: any Hugging Face sentiment classifier, p(positive) - p(negative).
"""

from __future__ import annotations

from ..errors import ConfigError

NAMES = ("vader", "vader_sentences", "rating", "zeroshot", "model")


def parse_sources(text: str) -> list[str]:
    """'vader_sentences, zeroshot, rating' -> the source names, checked; '' -> []."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if text.strip() and not names:
        raise ConfigError(f"teacher_sources {text!r} names no source: give names such as 'vader_sentences,rating', "
                          "or leave it empty for the single teacher")
    unknown = [name for name in names if name not in NAMES]
    if unknown:
        raise ConfigError(f"teacher_sources: unknown source(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"teacher_sources {text!r} names a source twice")
    return names


def build(name: str, settings: dict):
    """The source `name`, made from the teacher's `settings` (workers, student, prototypes, model, ...)."""
    if name == "vader":
        from .vader import Vader

        return Vader(settings.get("workers", 0))
    if name == "vader_sentences":
        from .vader_sentences import VaderSentences

        return VaderSentences(settings.get("workers", 0), settings.get("last_sentence_weight", 2.0))
    if name == "rating":
        from .rating import Rating

        return Rating()
    if name == "zeroshot":
        from .zeroshot import ZeroShot

        return ZeroShot(settings["student"], settings["positive"], settings["negative"], settings.get("zeroshot_max_length", 128),
                        settings.get("device", "auto"), settings.get("precision", "fp32"),
                        settings.get("zeroshot_truncation", "head"), settings.get("head_tokens", 128))
    if name == "model":
        from .model import Classifier

        return Classifier(settings["model"], settings.get("teacher_max_length", 512), settings.get("device", "auto"),
                          settings.get("truncation", "head"), settings.get("precision", "fp32"),
                          settings.get("head_tokens", 128))
    raise ConfigError(f"unknown label source {name!r}; choose from {', '.join(NAMES)}")
