"""The teacher: any Hugging Face sentiment classifier, or VADER; its annotations are cached on disk."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import cache
from .distributed import barrier, is_main, rank_and_world
from .errors import ConfigError
from .inference import at_precision, available_cores, check_precision, computed_on, predict_proba
from .models import from_pretrained, model_identity, model_source, pick_device
from .paths import atomic_path, write_json
from .progress import progress

CLASSES = ["negative", "neutral", "positive"]
PROB_COLUMNS = [f"p_{name}" for name in CLASSES]
_ALIASES = {"negative": 0, "neg": 0, "neutral": 1, "neu": 1, "positive": 2, "pos": 2}

VADER_THRESHOLD = 0.05  # VADER's documented cut-off on the compound score for neutral
VADER_SHARPNESS = 3.0  # scales the compound score into logits; 3 gives p(pos) ~ 0.94 at compound 1


def class_index(id2label: dict) -> list[int]:
    """For each model output, its index in CLASSES; refuses labels it cannot name."""
    mapped = [_ALIASES.get(str(id2label[i]).strip().lower()) for i in sorted(id2label, key=int)]
    if None in mapped or len(set(mapped)) != len(mapped) or not {0, 2} <= set(mapped):
        raise ConfigError(f"teacher labels {dict(id2label)} cannot be mapped to negative/neutral/positive: "
                          "use a sentiment model whose config names its labels, e.g. "
                          "cardiffnlp/twitter-roberta-base-sentiment-latest, or teacher='vader'")
    return mapped


def vader_proba(compound: np.ndarray) -> np.ndarray:
    """VADER's compound score c as a distribution: softmax(k * [-c, t, c]), k = VADER_SHARPNESS, t = VADER_THRESHOLD.

    Its argmax is VADER's own rule (negative if c < -t, positive if c > t, else neutral),
    it is symmetric in c, and it grows more confident as |c| grows.
    """
    compound = np.asarray(compound, dtype=np.float64)
    logits = VADER_SHARPNESS * np.stack([-compound, np.full_like(compound, VADER_THRESHOLD), compound], axis=1)
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


_VADER = None  # one analyzer per worker process, built by _vader_worker_start


def _vader_worker_start() -> None:
    """Build the process's VADER analyzer once (it loads its lexicon)."""
    global _VADER
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    _VADER = SentimentIntensityAnalyzer()


def _vader_compound(texts: list[str]) -> list[float]:
    """VADER's compound score per text, in this process."""
    if _VADER is None:
        _vader_worker_start()
    return [_VADER.polarity_scores(text)["compound"] for text in texts]


class VaderTeacher:
    """VADER (Hutto & Gilbert 2014): a lexicon- and rule-based social-media sentiment model.

    It runs in pure Python, so `workers` processes (default: every available core) score chunks in parallel;
    the order and the numbers are those of one process.
    """

    PIECE = 32  # reviews per task sent to a worker: small enough for an even split and a smooth progress bar

    def __init__(self, workers: int = 0):
        self.workers = workers if workers > 0 else available_cores()
        self._pool = None
        self.precision = "n/a"  # pure Python, no tensors
        self.fingerprint = {"teacher": "vader", "vaderSentiment": version("vaderSentiment"),
                            "threshold": VADER_THRESHOLD, "sharpness": VADER_SHARPNESS}

    def predict(self, texts: Sequence[str], progress: tqdm | None = None) -> np.ndarray:
        """Class probabilities (negative, neutral, positive) per text."""
        return vader_proba(self.compound(texts, progress))

    def compound(self, texts: Sequence[str], progress: tqdm | None = None) -> np.ndarray:
        """VADER's compound score in [-1, 1] per text."""
        texts = list(texts)
        pieces = [texts[i:i + self.PIECE] for i in range(0, len(texts), self.PIECE)]
        if self.workers > 1 and len(pieces) > 1 and self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, initializer=_vader_worker_start)
        scores = self._pool.map(_vader_compound, pieces) if self.workers > 1 and len(pieces) > 1 else map(_vader_compound, pieces)
        compound = []
        for piece in scores:
            compound.extend(piece)
            if progress is not None:
                progress.update(len(piece))
        return np.array(compound, dtype=np.float64)

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __del__(self):
        self.close()


class HFTeacher:
    """A Hugging Face sequence classifier whose labels name negative/(neutral)/positive.

    Its config and tokenizer load at once (labels are checked before any work); its weights only when a
    review actually needs scoring, so a fully cached rerun does no model work at all.
    """

    def __init__(self, name: str, max_length: int = 512, batch_size: int = 0, device: str = "auto",
                 truncation: str = "head", head_tokens: int = 128, precision: str = "fp32"):
        from transformers import AutoConfig, AutoTokenizer

        self.name, self.device = name, pick_device(device)
        check_precision(precision, self.device)
        self.columns = class_index(from_pretrained(AutoConfig, name, "teacher").id2label)
        self.tokenizer = from_pretrained(AutoTokenizer, name, "teacher")
        model_limit = getattr(self.tokenizer, "model_max_length", max_length) or max_length
        self.max_length = min(max_length, model_limit)
        self.batch_size, self.truncation, self.head_tokens = batch_size, truncation, head_tokens
        self.requested_precision = precision
        self.precision = precision  # `auto` is settled by precision.settle_teacher before any annotation
        self._model, self._runnable = None, {}
        self._identity = model_identity(name)

    def identity_key(self) -> dict:
        """What tells this teacher apart, apart from its precision."""
        return {"teacher": self.name, "source": model_source(self.name), "identity": self._identity,
                "max_length": self.max_length, "truncation": self.truncation,
                **({"head_tokens": self.head_tokens} if self.truncation == "head_tail" else {})}

    @property
    def fingerprint(self) -> dict:
        """The annotation cache's key: identity and settings, and how its scores are computed (precision, device,
        batching, libraries: bf16 differs in the last digits, and a GPU's bf16 from a CPU's)."""
        if self.precision == "auto":
            raise ConfigError("the teacher's precision is still 'auto': settle it (precision.settle_teacher) first")
        return {**self.identity_key(), **computed_on(self.device, self.precision, self.batch_size)}

    @property
    def model(self):
        """The classifier at full precision, loaded on first use."""
        if self._model is None:
            from transformers import AutoModelForSequenceClassification

            self._model = from_pretrained(AutoModelForSequenceClassification, self.name, "teacher").to(self.device)
        return self._model

    def predict(self, texts: Sequence[str], progress: tqdm | None = None) -> np.ndarray:
        """Class probabilities (negative, neutral, positive) per text at the settled precision; 0 for a class the
        model lacks."""
        return self.predict_at(self.fingerprint["precision"], texts, progress)

    def predict_at(self, precision: str, texts: Sequence[str], progress: tqdm | None = None) -> np.ndarray:
        """As `predict`, at `precision`: the teacher's own classes, truncation and windows, as it annotates."""
        if precision not in self._runnable:
            self._runnable[precision] = at_precision(self.model, precision)
        raw = predict_proba(self._runnable[precision], self.tokenizer, texts, self.max_length, self.batch_size,
                            progress, self.truncation, self.head_tokens, precision=precision)
        probs = np.zeros((len(texts), len(CLASSES)), dtype=np.float32)
        probs[:, self.columns] = raw
        return probs


def recorded_precision(record: dict) -> str:
    """The precision a teacher record (`teacher.json`, a student's `training.json` teacher) says its models scored
    at: `bf16` for a transformer teacher, `zeroshot bf16` for label sources with a model among them, `n/a` where no
    model ran (VADER, pure-Python sources)."""
    if not isinstance(record, dict):
        return "n/a"
    if record.get("teacher") == "sources":
        return ", ".join(f"{s['source']} {s['precision']}" for s in record.get("sources", []) if "precision" in s) or "n/a"
    return record.get("precision", "n/a")


def load_teacher(name: str, max_length: int = 512, batch_size: int = 0, device: str = "auto",
                 truncation: str = "head", head_tokens: int = 128, workers: int = 0, precision: str = "fp32"):
    """`vader` (which always reads the whole review), or a Hugging Face model id / local folder / `pkg:<module>`.

    `truncation`: `head`, `head_tail` or `chunks` (mean over windows covering the whole review). `workers`:
    VADER's processes (0: every available core). `precision`: see `inference.PRECISIONS` (VADER has none).
    """
    if truncation not in ("head", "head_tail", "chunks"):
        raise ConfigError(f"teacher truncation {truncation!r} is not one of head, head_tail, chunks")
    if name.lower() == "vader":
        return VaderTeacher(workers)
    return HFTeacher(name, max_length, batch_size, device, truncation, head_tokens, precision)


class AnnotationCache:
    """Per-teacher folder of Parquet shards mapping review-text hashes to class probabilities.

    Each shard is written atomically once its chunk is done, so an interrupted run keeps every finished
    chunk and a rerun computes only what is missing. A shard that cannot be read is deleted and redone.
    """

    def __init__(self, root: Path, fingerprint: dict, columns: Sequence[str] = tuple(PROB_COLUMNS)):
        self.columns = list(columns)
        self.folder = Path(root) / cache.key(fingerprint)
        self.folder.mkdir(parents=True, exist_ok=True)
        if is_main():
            write_json(fingerprint, self.folder / "teacher.json")

    def load(self) -> dict[str, np.ndarray]:
        """Every cached review's probabilities, by text hash."""
        known = {}
        for shard in sorted(self.folder.glob("part-*.parquet")):
            try:
                frame = pd.read_parquet(shard)
            except Exception as err:  # a damaged shard is recomputed, never trusted
                tqdm.write(f"cache shard {shard.name} unreadable ({type(err).__name__}); recomputing it")
                shard.unlink()
                continue
            known.update(zip(frame["hash"], frame[self.columns].to_numpy(np.float32)))
        return known

    def add(self, hashes: Sequence[str], probs: np.ndarray) -> None:
        """Store one finished chunk as a new shard."""
        frame = pd.DataFrame(probs, columns=self.columns).assign(hash=list(hashes))
        with atomic_path(self.folder / f"part-{time.time_ns()}-{rank_and_world()[0]}.parquet") as tmp:
            frame.to_parquet(tmp, index=False)


def annotate(teacher, texts: Sequence[str], cache_root: Path, chunk_size: int = 256,
             desc: str = "teacher", columns: Sequence[str] = tuple(PROB_COLUMNS)) -> np.ndarray:
    """The teacher's probabilities for `texts`, reusing cached ones and caching new ones chunk by chunk.

    Under torchrun each process annotates every world_size-th uncached review into the shared cache; after a
    barrier every process reads the whole result from the cache, in input order.
    """
    rank, world = rank_and_world()
    store = AnnotationCache(cache_root, teacher.fingerprint, columns)
    hashes = [cache.key(text) for text in texts]
    known = store.load()
    if world > 1:
        barrier()  # every process splits the same to-do list before any adds to the cache
    pending = list(dict.fromkeys(h for h in hashes if h not in known))  # the same on every process
    todo = pending[rank::world]
    first_text = {h: text for h, text in zip(hashes, texts)}
    if pending:  # a fully cached split prints no bar and no "annotating 0 reviews" line
        with progress(len(todo) if rank == 0 else 0, f"{desc}: {len(hashes) - len(todo) * world:,} cached, annotating") as bar:
            for start in range(0, len(todo), chunk_size):
                chunk = todo[start:start + chunk_size]
                probs = teacher.predict([first_text[h] for h in chunk], progress=bar)
                store.add(chunk, probs)
                known.update(zip(chunk, probs))
    if world > 1:
        barrier()
        known = store.load()
    return np.stack([known[h] for h in hashes]) if hashes else np.zeros((0, len(columns)), np.float32)


def annotation_frame(reviews: pd.DataFrame, probs: np.ndarray, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """`reviews` with the teacher's label and per-class probabilities appended (and `extra` columns, e.g. each
    label source's score)."""
    frame = reviews.copy()
    frame["teacher_label"] = np.array(CLASSES)[probs.argmax(axis=1)]
    frame[PROB_COLUMNS] = probs
    if extra is not None:
        frame[list(extra.columns)] = extra.to_numpy()
    return frame
