"""Zero-shot sentiment from the student's own base encoder: how much closer a review's embedding is to positive
prototype sentences than to negative ones. No label of any kind is used; the prototypes are stated in the profile."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..inference import at_precision, autocast, computed_on, encode, padded, token_batches, token_budget
from ..models import from_pretrained, model_identity, model_source, pick_device

POSITIVE = "A wonderful film, I loved it.|One of the best movies I have ever seen.|Brilliant acting and a great story."
NEGATIVE = "A terrible film, I hated it.|One of the worst movies I have ever seen.|Awful acting and a boring story."


def pooling_mode(source: str) -> str:
    """The encoder's own pooling, as its sentence-transformers config states it (`cls` or `mean`); mean without one."""
    config = Path(source) / "1_Pooling" / "config.json"
    if config.exists() and json.loads(config.read_text()).get("pooling_mode_cls_token"):
        return "cls"
    return "mean"


class ZeroShot:
    """Mean cosine similarity to the `positive` prototypes minus that to the `negative` ones ('|'-separated)."""

    name = "zeroshot"

    def __init__(self, student: str, positive: str = POSITIVE, negative: str = NEGATIVE, max_length: int = 128,
                 device: str = "auto", precision: str = "fp32", truncation: str = "head", head_tokens: int = 128):
        from transformers import AutoTokenizer

        self.student, self.max_length = student, max_length
        self.requested_precision = self.precision = precision  # `auto` is settled (SourcesTeacher) before scoring
        self.truncation, self.head_tokens = truncation, head_tokens
        self.positive = [s.strip() for s in positive.split("|") if s.strip()]
        self.negative = [s.strip() for s in negative.split("|") if s.strip()]
        self.device = pick_device(device)
        self.tokenizer = from_pretrained(AutoTokenizer, student, "student")
        self.pooling = pooling_mode(model_source(student))
        self._model, self._runnable = None, {}
        self.identity = {"source": self.name, "student": student, "identity": model_identity(student),
                         "positive": self.positive, "negative": self.negative, "max_length": max_length,
                         "truncation": truncation, **({"head_tokens": head_tokens} if truncation == "head_tail" else {}),
                         "pooling": self.pooling}

    @property
    def settings(self) -> dict:
        """What tells its scores apart (its cache key): the encoder, prototypes, reading, and how they are computed
        (the settled precision, the device and its batching, the libraries)."""
        return {**self.identity, **computed_on(self.device, self.precision)}

    @property
    def model(self):
        """The base encoder (no classification head) at the settled precision, loaded on first use."""
        return self.at(self.precision)

    def at(self, precision: str):
        """The encoder at `precision` (fp32 loaded once; each other precision made from it once)."""
        if precision == "auto":
            raise ValueError("the zero-shot source's precision is still 'auto': settle it first")
        if self._model is None:
            from transformers import AutoModel

            self._model = from_pretrained(AutoModel, self.student, "student").to(self.device).eval()
        if precision not in self._runnable:
            self._runnable[precision] = at_precision(self._model, precision)
        return self._runnable[precision]

    def embed(self, texts: list[str], progress=None, precision: str | None = None) -> np.ndarray:
        """Unit-length embeddings (the encoder's pooling, at `precision`, default the settled one), length-sorted
        token-budget batches, in input order."""
        precision = precision or self.precision
        model = self.at(precision)
        ids = encode(self.tokenizer, texts, self.max_length, self.truncation, self.head_tokens)
        out = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
        for batch in token_batches(np.array([len(x) for x in ids]), token_budget(self.device)):
            enc = {k: v.to(self.device) for k, v in padded([ids[i] for i in batch], self.tokenizer.pad_token_id or 0).items()}
            with torch.inference_mode(), autocast(self.device, precision):
                hidden = model(**enc).last_hidden_state.float()
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = enc["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            out[batch] = torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy()
            if progress is not None:
                progress.update(len(batch))
        return out

    def score(self, texts, progress=None, precision: str | None = None) -> np.ndarray:
        """Mean cosine to the positive prototypes minus mean cosine to the negative ones, per review (never NaN)."""
        prototypes = self.embed(self.positive + self.negative, precision=precision)
        direction = prototypes[:len(self.positive)].mean(0) - prototypes[len(self.positive):].mean(0)
        return self.embed(list(texts), progress, precision) @ direction

    def settle(self, texts, gold, cache_root, min_reviews: int) -> dict:
        """Fix the precision it scores at: as asked, or for `auto` the project's check (timed against fp32, labels
        compared on the labelled `texts`), remembered for this encoder on this device."""
        from ..precision import settled

        verdict, _, reused = settled(self.predict_at, self.device, list(texts), gold, self.requested_precision,
                                     cache_root, self.identity, min_reviews)
        self.precision = verdict["precision"]
        return {**verdict, "reused": reused}

    def predict_at(self, precision: str, texts, progress=None) -> np.ndarray:
        """Two classes for the precision check: positive where the score is above these reviews' median (the source
        is rank-normalised over the pool, so its order is what counts), sharply."""
        scores = self.score(texts, progress, precision)
        positive = 1 / (1 + np.exp(-50 * (scores - np.median(scores))))
        return np.stack([1 - positive, np.zeros_like(positive), positive], axis=1).astype(np.float32)
